"""What API Gateway does in front of the API Lambda, for `dataplatform serve`: a WSGI app that matches a request to
a route of `access.ROUTES`, checks the bearer token, and calls the API app with an HTTP API payload 2.0 event.

Tokens: `api_token` holds both permissions (read, upload); an optional `read_token` only read. A browser cannot
send a bearer header when it follows a link, so the console's pages (GET only) also take the token from an
HttpOnly, SameSite=Strict cookie, set by opening any console page once with `?token=<token>` (the printed URL);
the JSON routes and uploads take the header only. The result of the
check travels as the event's `requestContext.authorizer.lambda.permissions`, as a Lambda authorizer's context
would, and the app checks it again (dataplatform/api/access.py). An unknown route is a 404 before any check, as
in API Gateway.
"""

from __future__ import annotations

import base64
import hmac
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from dataplatform.api.access import ROUTES, Permission, RouteSpec
from dataplatform.api.models import ErrorBody, ErrorDetail

LambdaApp = Callable[[dict[str, Any], Any], dict[str, Any]]
_ROUTE_PATTERNS = [
    (spec, re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(spec.path)) + "$")) for spec in ROUTES
]
TOKEN_COOKIE = "dataplatform_token"
TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded", "application/xml")


def match_route(method: str, path: str) -> tuple[RouteSpec, dict[str, str]] | None:
    for spec, pattern in _ROUTE_PATTERNS:
        found = pattern.match(path)
        if found and spec.method == method:
            return spec, found.groupdict()
    return None


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = ErrorBody(error=ErrorDetail(code=code, message=message)).model_dump_json()
    return Response(body, status=status, content_type="application/json", headers=headers)


def is_console_page(spec: RouteSpec) -> bool:
    return spec.path == "/" or spec.path.startswith("/console/")


@dataclass(frozen=True)
class Tokens:
    api_token: str
    read_token: str | None = None

    def permissions(self, authorization: str | None) -> list[Permission] | None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        if hmac.compare_digest(token.encode(), self.api_token.encode()):
            return ["read", "upload"]
        if self.read_token and hmac.compare_digest(token.encode(), self.read_token.encode()):
            return ["read"]
        return None


class LocalGateway:
    def __init__(self, app: LambdaApp, tokens: Tokens) -> None:
        self.app = app
        self.tokens = tokens

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self.respond(Request(environ))(environ, start_response)

    def respond(self, request: Request) -> Response:
        found = match_route(request.method, request.path)
        if found is None:
            return _error(404, "not_found", f"no route {request.method} {request.path}")
        spec, path_parameters = found
        console = request.method == "GET" and is_console_page(spec)
        if console and "token" in request.args:
            return self.login(request)
        authorizer: dict[str, Any] = {}
        if spec.access != "public":
            authorization = request.headers.get("Authorization")
            if authorization is None and console and request.cookies.get(TOKEN_COOKIE):
                authorization = f"Bearer {request.cookies[TOKEN_COOKIE]}"
            permissions = self.tokens.permissions(authorization)
            if permissions is None:
                message = "missing bearer token" if not authorization else "invalid token"
                return _error(401, "unauthorized", message, {"WWW-Authenticate": 'Bearer realm="dataplatform"'})
            authorizer = {"lambda": {"permissions": permissions}}
        result = self.app(self.event(request, spec, path_parameters, authorizer), None)
        return self.response(result)

    def login(self, request: Request) -> Response:
        """`?token=` on a console page: keep the token in a cookie and show the page without it in the URL."""
        token = request.args["token"]
        if self.tokens.permissions(f"Bearer {token}") is None:
            return _error(401, "unauthorized", "invalid token")
        response = redirect(request.path, code=303)
        response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict", path="/")
        return response

    @staticmethod
    def event(
        request: Request, spec: RouteSpec, path_parameters: dict[str, str], authorizer: dict[str, Any]
    ) -> dict[str, Any]:
        body = request.get_data()
        text = any(request.content_type.startswith(t) for t in TEXT_TYPES) if request.content_type else True
        route_key = f"{spec.method} {spec.path}"
        now = time.time()
        headers = {k.lower(): v for k, v in request.headers.items()}
        return {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": request.path,
            "rawQueryString": request.query_string.decode("latin-1"),
            "headers": headers,
            "queryStringParameters": {k: ",".join(request.args.getlist(k)) for k in request.args} or None,
            "pathParameters": path_parameters or None,
            "requestContext": {
                "accountId": "local",
                "apiId": "local",
                "authorizer": authorizer,
                "domainName": request.host,
                "domainPrefix": "local",
                "http": {
                    "method": request.method,
                    "path": request.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": request.remote_addr or "127.0.0.1",
                    "userAgent": headers.get("user-agent", ""),
                },
                "requestId": uuid.uuid4().hex,
                "routeKey": route_key,
                "stage": "$default",
                "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "timeEpoch": int(now * 1000),
            },
            "body": (body.decode("utf-8", "replace") if text else base64.b64encode(body).decode()) if body else None,
            "isBase64Encoded": bool(body) and not text,
        }

    @staticmethod
    def response(result: dict[str, Any]) -> Response:
        body = result.get("body") or ""
        data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
        response = Response(data, status=int(result.get("statusCode", 200)))
        for name, value in (result.get("headers") or {}).items():
            response.headers[name] = value
        for name, values in (result.get("multiValueHeaders") or {}).items():
            for value in values:
                response.headers.add(name, value)
        for cookie in result.get("cookies") or []:
            response.headers.add("Set-Cookie", cookie)
        return response
