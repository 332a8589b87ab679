"""No anonymous access but /health; read and upload need their own permission. Locally the gateway checks the
bearer token; on AWS the app re-checks what API Gateway's IAM or JWT authorizer put in the request context."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from dataplatform.api.app import ApiApp, ApiServices
from dataplatform.api.data_access import LakeData
from dataplatform.config import parse_config
from tests.api.support import CONFIG, FULL, RAW_BUCKET, READ, ROOT, ServedApi, local_s3


@pytest.mark.parametrize(
    "headers", [None, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic Zm9vOmJhcg=="},
                {"Authorization": "Bearer"}, {"Authorization": "full-access-token"}],
)  # fmt: skip
def test_missing_or_wrong_token_is_401(api: ServedApi, headers: dict[str, str] | None) -> None:
    for path in ("/kpi/summary", "/openapi.json", "/marts/daily_revenue"):
        status, body = api.get(path, headers=headers)
        assert status == 401 and body["error"]["code"] == "unauthorized"
    response = api.client.post("/uploads/sales", headers=headers or {})
    assert response.status_code == 401


def test_health_is_the_only_anonymous_route(api: ServedApi) -> None:
    assert api.get("/health", headers=None) == (200, {"status": "ok", "project": "retail"})


def test_read_token_reads_but_cannot_upload(api: ServedApi) -> None:
    assert api.get("/kpi/summary", headers=READ)[0] == 200
    response = api.client.post("/uploads/sales", headers=READ)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
    assert api.client.post("/uploads/sales", headers=FULL).status_code == 200


# ---------------------------------------------------------------- on AWS: the request context API Gateway sends

JWT_CONFIG = parse_config(
    (ROOT / "pipeline.yaml").read_text()
    + "\napi:\n  auth: {mode: jwt, issuer: 'https://issuer.example.com', audience: [client-1],"
    " read_scope: shop/read, upload_scope: shop/upload}\n",
    file="jwt.yaml",
)


class NoEngine:
    def query(self, statement: Any) -> list[dict[str, Any]]:
        raise AssertionError("an unauthorized request must not reach the data")

    def columns(self, zone: str, table: str) -> None:
        raise AssertionError("an unauthorized request must not reach the data")


def gateway_event(route_key: str, path: str, authorizer: dict[str, Any] | None) -> dict[str, Any]:
    method = route_key.split(" ")[0]
    return {
        "version": "2.0", "routeKey": route_key, "rawPath": path, "rawQueryString": "", "headers": {},
        "requestContext": {"routeKey": route_key, "http": {"method": method, "path": path}, "requestId": "r1",
                           "stage": "$default", **({"authorizer": authorizer} if authorizer else {})},
        "pathParameters": {"dataset": "sales"} if "{dataset}" in route_key else None, "isBase64Encoded": False,
    }  # fmt: skip


def jwt(scopes: list[str], expires_in: float) -> dict[str, Any]:
    return {"jwt": {"claims": {"sub": "u1", "exp": str(int(time.time() + expires_in))}, "scopes": scopes}}


@pytest.fixture(scope="module")
def lambda_app() -> ApiApp:
    data = LakeData(NoEngine(), JWT_CONFIG, marts=("daily_revenue",))  # type: ignore[arg-type]
    return ApiApp(ApiServices(data, s3=local_s3(), raw_bucket=RAW_BUCKET))


def answer(app: ApiApp, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    result = app(event, None)
    return result["statusCode"], json.loads(result["body"])


def test_no_authorizer_context_is_401_even_behind_a_misconfigured_route(lambda_app: ApiApp) -> None:
    status, body = answer(lambda_app, gateway_event("GET /kpi/summary", "/kpi/summary", None))
    assert (status, body["error"]["code"]) == (401, "unauthorized")


def test_expired_jwt_is_401(lambda_app: ApiApp) -> None:
    status, body = answer(lambda_app, gateway_event("GET /kpi/summary", "/kpi/summary", jwt(["shop/read"], -5)))
    assert status == 401 and "expired" in body["error"]["message"]


def test_read_scope_on_the_upload_route_is_403(lambda_app: ApiApp) -> None:
    event = gateway_event("POST /uploads/{dataset}", "/uploads/sales", jwt(["shop/read"], 300))
    assert answer(lambda_app, event)[0] == 403
    event = gateway_event("POST /uploads/{dataset}", "/uploads/sales", jwt(["shop/upload"], 300))
    status, body = answer(lambda_app, event)
    assert status == 200 and body["key"].startswith("landing/sales/api-")


def test_upload_scope_cannot_read(lambda_app: ApiApp) -> None:
    event = gateway_event("GET /kpi/summary", "/kpi/summary", jwt(["shop/upload"], 300))
    assert answer(lambda_app, event)[0] == 403


def test_iam_authorized_request_passes(lambda_app: ApiApp) -> None:
    iam = {"iam": {"accessKey": "AKIA...", "accountId": "123456789012", "userArn": "arn:aws:iam::1:user/u"}}
    status, body = answer(lambda_app, gateway_event("GET /marts", "/marts", iam))
    assert (status, body) == (200, {"marts": ["daily_revenue"]})


def test_health_needs_nothing(lambda_app: ApiApp) -> None:
    assert answer(lambda_app, gateway_event("GET /health", "/health", None)) == (
        200,
        {"status": "ok", "project": "retail"},
    )


def test_default_config_is_iam() -> None:
    assert CONFIG.api.auth.mode == "iam"
