"""Who may call which route: the one route table that the app, the CDK construct (authorizers and scopes per
route) and the local gateway all read, and the app's own check of what API Gateway already decided.

On AWS, API Gateway authorizes every route but `/health` (IAM or JWT, `infra/api.py`). The app checks again from
the request context it passes on (fail closed): a request without an authorizer context is refused, a JWT past
its `exp` is refused, and a route is served only when the caller holds its permission (IAM: granted per route
by the caller's policy; JWT: the route's scope; locally: the token's permissions, set by the local gateway).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from dataplatform.api.errors import Forbidden, Unauthorized
from dataplatform.config.api import ApiAuth

Permission = Literal["read", "upload"]
Access = Literal["public", "read", "upload"]


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    """API Gateway's path syntax (`/marts/{name}`); the resolver's is the same."""
    access: Access
    summary: str


ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec("GET", "/health", "public", "Liveness; the only route without authorization"),
    RouteSpec("GET", "/openapi.json", "read", "This API's OpenAPI document"),
    RouteSpec("GET", "/kpi/summary", "read", "Headline KPIs (marts.kpi_summary)"),
    RouteSpec("GET", "/kpi/revenue-by-category", "read", "Revenue per product category"),
    RouteSpec("GET", "/kpi/daily-revenue", "read", "Revenue per day, optionally between two dates"),
    RouteSpec("GET", "/marts", "read", "The marts this API serves"),
    RouteSpec("GET", "/marts/{name}", "read", "One page of a mart's rows"),
    RouteSpec("GET", "/runs", "read", "The latest pipeline runs (audit table)"),
    RouteSpec("GET", "/runs/{run_id}", "read", "One run, per dataset"),
    RouteSpec("GET", "/datasets", "read", "The datasets of pipeline.yaml"),
    RouteSpec("GET", "/datasets/{name}/quarantine", "read", "Quarantine reasons and sample rows of a dataset"),
    # The run console (dataplatform/console/): HTML pages, read permission like the JSON routes.
    RouteSpec("GET", "/", "read", "Run console: the latest runs"),
    RouteSpec("GET", "/console/runs/{run_id}", "read", "Run console: one run's timeline, conservation and assertions"),
    RouteSpec("GET", "/console/datasets", "read", "Run console: datasets, freshness and rows per run"),
    RouteSpec("GET", "/console/lineage", "read", "Run console: lineage from sources to marts"),
    RouteSpec("GET", "/console/marts", "read", "Run console: KPI summary, daily revenue and customer segments"),
    RouteSpec(
        "POST", "/uploads/{dataset}", "upload", "A presigned S3 POST for one CSV file into the dataset's landing prefix"
    ),
)


def route_spec(method: str, path: str) -> RouteSpec:
    for spec in ROUTES:
        if spec.method == method and spec.path == path:
            return spec
    raise KeyError(f"{method} {path} is not in dataplatform.api.access.ROUTES")


@dataclass(frozen=True)
class Principal:
    kind: Literal["iam", "jwt", "local"]
    permissions: frozenset[Permission]


ALL: frozenset[Permission] = frozenset({"read", "upload"})


def principal_of(request_context: Mapping[str, Any], auth: ApiAuth, now: float | None = None) -> Principal:
    """The caller as API Gateway (or the local gateway) authorized it; Unauthorized when nothing did."""
    authorizer = request_context.get("authorizer") or {}
    if authorizer.get("iam"):
        return Principal("iam", ALL)  # IAM already allowed this route for this caller's policy
    jwt = authorizer.get("jwt")
    if jwt:
        claims = jwt.get("claims") or {}
        expires = claims.get("exp")
        if expires is None or float(expires) <= (now if now is not None else time.time()):
            raise Unauthorized("the token has expired")
        scopes = set(jwt.get("scopes") or str(claims.get("scope", "")).split())
        granted = {p for p, scope in (("read", auth.read_scope), ("upload", auth.upload_scope)) if scope in scopes}
        return Principal("jwt", frozenset(granted))  # type: ignore[arg-type]
    local = authorizer.get("lambda")
    if local and isinstance(local.get("permissions"), list):
        return Principal("local", frozenset(p for p in local["permissions"] if p in ALL))
    raise Unauthorized("this route needs credentials (IAM signature or bearer token)")


def authorize(spec: RouteSpec, request_context: Mapping[str, Any], auth: ApiAuth) -> Principal | None:
    """The caller of a route, or Unauthorized/Forbidden; None for the public route."""
    if spec.access == "public":
        return None
    principal = principal_of(request_context, auth)
    if spec.access not in principal.permissions:
        raise Forbidden(f"{spec.method} {spec.path} needs the '{spec.access}' permission")
    return principal
