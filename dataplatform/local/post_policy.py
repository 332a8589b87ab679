"""The S3 POST policy check that moto leaves out, for the local S3 of `dataplatform serve`.

moto stores any browser-form POST upload without looking at its policy (moto/s3/responses.py
`_bucket_response_post`). This WSGI middleware in front of moto applies the policy's conditions the way S3
documents them (Amazon S3 "Creating a POST policy": exact matches, `eq`, `starts-with`, `content-length-range`,
expiration, and every form field covered by a condition), so an oversize or non-CSV upload is refused locally as
it is on AWS: `EntityTooLarge`/`EntityTooSmall` (400) or `AccessDenied` "Invalid according to Policy" (403). The
signature is not verified: the local S3 has no secret worth guarding.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# Form fields a policy need not mention (S3 docs: "Each form field that you specify in a form ... except").
EXEMPT = {"policy", "x-amz-signature", "signature", "awsaccesskeyid", "file"}


class PolicyViolation(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _condition_field(name: str) -> str:
    return name.removeprefix("$").lower()


def check_policy(policy_b64: str, fields: dict[str, str], bucket: str, size: int, now: datetime) -> None:
    """Raise PolicyViolation when the upload does not satisfy its policy."""
    try:
        policy = json.loads(base64.b64decode(policy_b64, validate=True))
    except (binascii.Error, ValueError):
        raise PolicyViolation(400, "InvalidPolicyDocument", "the policy is not base64-encoded JSON") from None
    expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    if now >= expires:
        raise PolicyViolation(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    values = {k.lower(): v for k, v in fields.items()} | {"bucket": bucket}
    covered: set[str] = set()
    for condition in policy.get("conditions", []):
        if isinstance(condition, dict):
            ((name, expected),) = condition.items()
            operator, name = "eq", name.lower()
        elif condition[0] == "content-length-range":
            low, high = int(condition[1]), int(condition[2])
            if size > high:
                raise PolicyViolation(
                    400, "EntityTooLarge", f"Your proposed upload exceeds the maximum allowed size ({high} bytes)"
                )
            if size < low:
                raise PolicyViolation(
                    400,
                    "EntityTooSmall",
                    f"Your proposed upload is smaller than the minimum allowed size ({low} bytes)",
                )
            continue
        else:
            operator, name, expected = condition[0].lower(), _condition_field(condition[1]), condition[2]
        covered.add(name)
        actual = values.get(name, "")
        if (operator == "eq" and actual != expected) or (operator == "starts-with" and not actual.startswith(expected)):
            raise PolicyViolation(
                403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}"
            )
    extra = sorted(set(values) - covered - EXEMPT - {"bucket"} - {k for k in values if k.startswith("x-ignore-")})
    if extra:
        raise PolicyViolation(403, "AccessDenied", f"Invalid according to Policy: Extra input fields: {extra[0]}")


class PostPolicyCheck:
    """WSGI middleware: form POSTs to a bucket are checked against their policy before moto stores them."""

    def __init__(self, app: WsgiApp, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.app, self.clock = app, clock

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or "multipart/form-data" not in environ.get("CONTENT_TYPE", ""):
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        request = Request({**environ, "wsgi.input": io.BytesIO(body)})
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads the same bytes again
        upload = request.files.get("file")
        policy = request.form.get("policy")
        if upload is None or policy is None:
            return self.app(environ, start_response)
        size = len(upload.read())
        bucket = request.path.strip("/").split("/")[0]
        try:
            check_policy(policy, dict(request.form.items()), bucket, size, self.clock())
        except PolicyViolation as violation:
            xml = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{violation.code}</Code>"
                   f"<Message>{violation.message}</Message></Error>")  # fmt: skip
            return Response(xml, status=violation.status, content_type="application/xml")(environ, start_response)
        return self.app(environ, start_response)
