"""How AWS answers a denied request, per protocol, and S3's per-key DeleteObjects answer (local IAM check)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from xml.etree import ElementTree

Json = dict[str, Any]
StartResponse = Callable[..., Any]

DENIED = {"s3": ("AccessDenied", 403), "sns": ("AuthorizationError", 403), "sqs": ("AccessDenied", 403)}
"""Services whose AccessDenied code or status differs from their protocol's default."""
DENIED_JSON = ("AccessDeniedException", 400)
DENIED_QUERY = ("AccessDenied", 403)


def xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def error_response(
    protocol: str, service: str, code: str, status: int, message: str, method: str
) -> tuple[str, list[tuple[str, str]], bytes]:
    request_id = str(uuid.uuid4())
    reason = {400: "Bad Request", 403: "Forbidden"}.get(status, "Error")
    if protocol == "rest-xml":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{xml_escape(message)}'
            f"</Message><RequestId>{request_id}</RequestId><HostId>local</HostId></Error>"
        ).encode()
        if method == "HEAD":
            body = b""  # S3 answers HEAD without a body: clients see a bare 403, as on AWS
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    elif protocol == "json":
        body = json.dumps({"__type": code, "message": message, "Message": message}).encode()
        headers = [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("x-amzn-ErrorType", code),
            ("x-amzn-RequestId", request_id),
        ]
    else:
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{xml_escape(message)}"
            f"</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml")]
    return f"{status} {reason}", [*headers, ("Content-Length", str(len(body)))], body


def delete_allowed_keys(
    app: Callable[..., Iterable[bytes]], environ: Json, body: bytes, denied: set[str], start_response: StartResponse
) -> Iterable[bytes]:
    """DeleteObjects: forward the allowed keys, add an AccessDenied <Error> for each denied one."""
    text = body.decode("utf-8")
    objects = re.findall(r"<Object>.*?</Object>", text, re.S)

    def key_of(element: str) -> str:
        found = ElementTree.fromstring(element).find("Key")
        return "" if found is None else found.text or ""

    kept = [o for o in objects if key_of(o) not in denied]
    errors = "".join(
        f"<Error><Key>{xml_escape(k)}</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
        for k in sorted(denied)
    )
    if not kept:
        payload = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="http://s3.amazonaws.com/doc/'
            f'2006-03-01/">{errors}</DeleteResult>'
        ).encode()
        start_response("200 OK", [("Content-Type", "application/xml"), ("Content-Length", str(len(payload)))])
        return [payload]
    forwarded = re.sub(r"<Object>.*?</Object>", "", text, flags=re.S).replace("</Delete>", "".join(kept) + "</Delete>")
    new_body = forwarded.encode()
    environ["wsgi.input"] = io.BytesIO(new_body)
    environ["CONTENT_LENGTH"] = str(len(new_body))
    environ["HTTP_CONTENT_MD5"] = base64.b64encode(hashlib.md5(new_body).digest()).decode()
    for header in [
        h for h in environ if h.startswith("HTTP_X_AMZ_CHECKSUM_") or h == "HTTP_X_AMZ_SDK_CHECKSUM_ALGORITHM"
    ]:
        del environ[header]
    captured: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        captured["status"], captured["headers"] = status, headers
        return lambda data: None

    answer = b"".join(app(environ, capture)).decode("utf-8").replace("</DeleteResult>", errors + "</DeleteResult>")
    out = answer.encode()
    headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
    start_response(captured["status"], [*headers, ("Content-Length", str(len(out)))])
    return [out]
