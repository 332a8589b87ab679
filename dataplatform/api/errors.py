"""Errors the API answers with: each has a status, a stable code and a message for people, sent as
`{"error": {"code", "message"}}` (models.ErrorBody)."""

from __future__ import annotations


class ApiError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class BadRequest(ApiError):
    status = 400
    code = "invalid_request"


class InvalidToken(BadRequest):
    code = "invalid_next_token"


class NotUploadable(BadRequest):
    code = "not_uploadable"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class QueryTimeout(ApiError):
    """The query did not finish within the API's time budget; it keeps running, so a retry reuses its result."""

    status = 503
    code = "query_timeout"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after_s)})
        self.retry_after_s = retry_after_s


class QueryFailed(ApiError):
    status = 502
    code = "query_failed"


# Every status a route may answer besides 200, for the OpenAPI document.
ERROR_STATUSES = {
    400: "invalid request (parameters, token)",
    401: "missing, invalid or expired credentials",
    403: "credentials lack the permission or scope this route needs",
    404: "no such mart, dataset or run",
    502: "the query failed in Athena",
    503: "the query takes longer than the API may wait: retry after Retry-After seconds",
}
