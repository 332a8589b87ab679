"""The HTTP API: one Powertools `APIGatewayHttpResolver` with request and response validation, its routes, the
error mapping and `/openapi.json`. The same app runs in the Lambda (`lambdas/api/handler.py`) and behind the local
gateway of `dataplatform serve`; only the `ApiServices` it is built with differ.

Adding routes or pages (the run console): add a `RouteSpec` to `access.ROUTES` (the CDK construct creates the
API Gateway route from it, with its authorization), then register the function on `ApiApp.resolver` with the
same method and path, in a module of its own that asks `ApiServices.data` (never SQL, never an engine).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path as FilePath
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError, ResponseValidationError
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from dataplatform.api import access, models, pagination, uploads
from dataplatform.api.data_access import LakeData
from dataplatform.api.errors import ERROR_STATUSES, ApiError, BadRequest, NotFound
from dataplatform.console.routes import lineage_of, register_console
from dataplatform.layout import RUN_ID

logger = Logger(child=True)

NAME_PATH = Path(pattern=r"^[a-z][a-z0-9_]{0,127}$", description="a lower-case identifier")
RUN_ID_PATH = Path(pattern=RUN_ID.pattern, description="a run id from GET /runs")
SECURITY_SCHEME = "credentials"
ISO_DATE: dict[str, Any] = {"json_schema_extra": {"format": "date"}, "max_length": 10}


@dataclass(frozen=True)
class ApiServices:
    """What the routes need from the outside: the lake (data access), S3 for presigning and the raw bucket."""

    data: LakeData
    s3: Any
    raw_bucket: str
    local: bool = False
    """Served by `dataplatform serve` (bearer token) rather than API Gateway (IAM or JWT)."""
    sql_dir: FilePath = field(default_factory=lambda: FilePath("sql"))
    """The pipeline's sql/ folder: the console derives the lineage from it and the config. The API Lambda's
    bundle carries a copy as `sql/` beside its handler (infra/api.py)."""


def _json_error(error: ApiError) -> Response:
    body = models.ErrorBody(error=models.ErrorDetail(code=error.code, message=error.message))
    return Response(status_code=error.status, content_type="application/json", body=body.model_dump_json(),
                    headers=error.headers)  # fmt: skip


def _day(text: str | None, name: str, default: date) -> date:
    """An ISO date (YYYY-MM-DD) only: pydantic's lax date parsing would also take `0` as 1970-01-01."""
    if text is None:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{name}: {text!r} is not a date (YYYY-MM-DD)") from None


def _gateway_response(error: ApiError) -> dict[str, Any]:
    """An error answered before the resolver runs, in API Gateway's payload format 2.0."""
    body = models.ErrorBody(error=models.ErrorDetail(code=error.code, message=error.message))
    headers = {"Content-Type": "application/json", **error.headers}
    return {"statusCode": error.status, "headers": headers, "body": body.model_dump_json(), "isBase64Encoded": False}


def _responses(*statuses: int) -> dict[int, Any]:
    """200 with the route's return model (Powertools fills it in), and the errors the route can answer."""
    error = {"application/json": {"model": models.ErrorBody}}
    return {200: {"description": "OK"}} | {s: {"description": ERROR_STATUSES[s], "content": error} for s in statuses}


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "path", "body"))
        parts.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


class ApiApp:
    """The resolver plus the authorization check every request passes before it (access.authorize)."""

    def __init__(self, services: ApiServices) -> None:
        self.services = services
        self.auth = services.data.config.api.auth
        self.resolver = APIGatewayHttpResolver(enable_validation=True, response_validation_error_http_code=500)
        self._openapi_security()
        self._error_handlers()
        self._routes()
        register_console(self, lineage_of(services.data.config, services.sql_dir))

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        request_context = event.get("requestContext") or {}
        method, _, path = str(request_context.get("routeKey", "")).partition(" ")
        try:
            spec = access.route_spec(method, path)
        except KeyError:  # no route of ours: still never anonymous; the resolver then answers 404
            spec = access.RouteSpec(method, path, "read", "")
        try:
            access.authorize(spec, request_context, self.auth)
            self._known_query(spec, event.get("queryStringParameters") or {})
        except ApiError as error:
            return _gateway_response(error)
        return self.resolver.resolve(event, context)

    def _known_query(self, spec: access.RouteSpec, query: dict[str, Any]) -> None:
        """Unknown query parameters are refused, not ignored: a misspelt `limt` should not silently mean 100."""
        if not hasattr(self, "_query_names"):
            self._query_names = {
                (method.upper(), path): {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
                for path, item in self.openapi()["paths"].items()
                for method, op in item.items()
            }
        unknown = sorted(set(query) - self._query_names.get((spec.method, spec.path), set()))
        if unknown:
            raise BadRequest(f"unknown query parameter(s): {', '.join(repr(u[:40]) for u in unknown[:3])}")

    # ------------------------------------------------------------ OpenAPI
    def _openapi_security(self) -> None:
        scheme: Any
        if self.services.local or self.auth.mode == "jwt":
            scheme = HTTPBearer(description="Bearer token: the OIDC access token, or locally $DATAPLATFORM_API_TOKEN")
        else:
            scheme = APIKey(name="Authorization", **{"in": APIKeyIn.header},
                            description="AWS Signature Version 4 (IAM), e.g. curl --aws-sigv4")  # fmt: skip
        self.resolver.configure_openapi(
            title=f"{self.services.data.project} data platform API",
            version="1",
            description="KPIs, marts, runs, quarantine summaries and CSV uploads of the data platform.",
            security_schemes={SECURITY_SCHEME: scheme},
        )

    # ------------------------------------------------------------ errors
    def _error_handlers(self) -> None:
        app = self.resolver

        @app.exception_handler(ApiError)
        def api_error(error: ApiError) -> Response:
            if error.status >= 500:
                logger.warning("request failed", extra={"code": error.code, "error": error.message})
            return _json_error(error)

        @app.exception_handler(RequestValidationError)
        def invalid_request(error: RequestValidationError) -> Response:
            return _json_error(BadRequest(_validation_message(error)))

        @app.not_found
        def not_found(_: NotFoundError) -> Response:
            event = app.current_event
            return _json_error(NotFound(f"no route {event.http_method} {event.path}"))

        @app.exception_handler([ResponseValidationError, Exception])
        def internal(error: Exception) -> Response:
            logger.exception("unhandled error", extra={"error_type": type(error).__name__})
            return _json_error(ApiError("internal error; see the API's logs"))

    # ------------------------------------------------------------ routes
    def _routes(self) -> None:
        app, services = self.resolver, self.services
        data = services.data
        secured = [{SECURITY_SCHEME: []}]

        def route(method: str, path: str, *statuses: int) -> Any:
            spec = access.route_spec(method, path)
            register = app.get if method == "GET" else app.post
            options: dict[str, Any] = {"summary": spec.summary, "responses": _responses(*statuses)}
            if spec.access != "public":
                options["security"] = secured
            return register(re.sub(r"\{(\w+)\}", r"<\1>", path), **options)

        @route("GET", "/health")
        def health() -> models.Health:
            return models.Health(project=data.project)

        @app.get("/openapi.json", include_in_schema=False)
        def openapi():  # type: ignore[no-untyped-def]  # no model: the document itself
            return Response(status_code=200, content_type="application/json", body=self.openapi_json())

        @route("GET", "/kpi/summary", 401, 403, 404, 502, 503)
        def kpi_summary() -> models.KpiSummary:
            return data.kpi_summary()

        @route("GET", "/kpi/revenue-by-category", 401, 403, 502, 503)
        def revenue_by_category() -> models.RevenueByCategory:
            return data.revenue_by_category()

        @route("GET", "/kpi/daily-revenue", 400, 401, 403, 502, 503)
        def daily_revenue(
            start: Annotated[str | None, Query(alias="from", description="first day, inclusive", **ISO_DATE)] = None,
            end: Annotated[str | None, Query(alias="to", description="last day, inclusive", **ISO_DATE)] = None,
        ) -> models.DailyRevenue:
            first, last = _day(start, "from", date(1, 1, 1)), _day(end, "to", date(9999, 12, 31))
            if first > last:
                raise BadRequest(f"from ({first}) is after to ({last})")
            return data.daily_revenue(first, last)

        @route("GET", "/marts", 401, 403)
        def marts() -> models.MartList:
            return models.MartList(marts=list(data.marts))

        @route("GET", "/marts/{name}", 400, 401, 403, 404, 502, 503)
        def mart(
            name: Annotated[str, NAME_PATH],
            limit: Annotated[int, Query(ge=1, le=1000, description="rows per page")] = 100,
            next: Annotated[
                str | None, Query(pattern=pagination.TOKEN_PATTERN, description="the `next` of the previous page")
            ] = None,
        ) -> models.MartPage:
            return data.mart_page(name, limit, next)

        @route("GET", "/runs", 400, 401, 403, 502, 503)
        def runs(limit: Annotated[int, Query(ge=1, le=200, description="latest runs first")] = 20) -> models.RunList:
            return data.runs(limit)

        @route("GET", "/runs/{run_id}", 400, 401, 403, 404, 502, 503)
        def run(run_id: Annotated[str, RUN_ID_PATH]) -> models.RunDetail:
            return data.run(run_id)

        @route("GET", "/datasets", 401, 403)
        def datasets() -> models.DatasetList:
            return data.datasets()

        @route("GET", "/datasets/{name}/quarantine", 400, 401, 403, 404, 502, 503)
        def quarantine(
            name: Annotated[str, NAME_PATH],
            run_id: Annotated[
                str | None, Query(pattern=RUN_ID.pattern, description="one run; default every run")
            ] = None,
        ) -> models.QuarantineSummary:
            return data.quarantine(name, run_id)

        @route("POST", "/uploads/{dataset}", 400, 401, 403, 404)
        def upload(
            dataset: Annotated[str, NAME_PATH],
            filename: Annotated[
                str | None, Query(pattern=uploads.FILENAME, description="kept in the object key, e.g. sales.csv")
            ] = None,
        ) -> models.UploadTicket:
            name = data.dataset_name(dataset)
            return uploads.presigned_upload(services.s3, data.config, services.raw_bucket, name, filename)

    def openapi(self) -> dict[str, Any]:
        """Powertools' document, with the error answers this API really gives: a validation error is a 400 with
        ErrorBody (not Powertools' 422 shape), and a 500 is an ErrorBody too."""
        document = json.loads(self.resolver.get_openapi_json_schema())
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        for operation in (op for path in document["paths"].values() for op in path.values()):
            operation["responses"].pop("422", None)
            operation["responses"]["500"] = {"description": "internal error", "content": error}
        for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
            document.get("components", {}).get("schemas", {}).pop(unused, None)
        return document

    def openapi_json(self) -> str:
        return json.dumps(self.openapi(), indent=1)
