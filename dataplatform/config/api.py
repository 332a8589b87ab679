"""The `api:` block of pipeline.yaml: what a user sets about the HTTP API. Every key has a default that needs no
setting (IAM auth, no CORS origins, 100 MiB uploads, modest throttling, every mart)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from dataplatform.config.strict_model import StrictModel

SCOPE = r"^[A-Za-z0-9._:/+-]{1,128}$"


class ApiAuth(StrictModel):
    """`iam`: callers sign requests with SigV4 (IAM policies grant read and upload routes separately);
    `jwt`: API Gateway validates tokens of an OIDC issuer for the audience, with a scope per kind of route."""

    mode: Literal["iam", "jwt"] = "iam"
    issuer: str | None = None
    """jwt only: the OIDC issuer URL (https), e.g. `https://cognito-idp.<region>.amazonaws.com/<user pool id>`."""
    audience: tuple[Annotated[str, Field(min_length=1)], ...] = ()
    """jwt only: accepted `aud` (or Cognito `client_id`) values."""
    read_scope: Annotated[str, Field(pattern=SCOPE)] = "dataplatform/read"
    """jwt only: the scope every read route requires."""
    upload_scope: Annotated[str, Field(pattern=SCOPE)] = "dataplatform/upload"
    """jwt only: the scope `POST /uploads/{dataset}` requires."""

    @model_validator(mode="after")
    def _jwt_settings(self) -> ApiAuth:
        if self.mode == "jwt":
            if not self.issuer or not self.issuer.startswith("https://"):
                raise PydanticCustomError(
                    "api_auth", "jwt mode needs the OIDC issuer as an https:// URL", {"at": "issuer"}
                )
            if not self.audience:
                raise PydanticCustomError("api_auth", "jwt mode needs at least one audience", {"at": "audience"})
        if self.read_scope == self.upload_scope:
            raise PydanticCustomError(
                "api_auth",
                "read_scope and upload_scope must differ, so a read token cannot upload",
                {"at": "upload_scope"},
            )
        return self


class ApiUploads(StrictModel):
    max_mb: Annotated[int, Field(gt=0, le=5120)] = 100
    """Largest CSV file (MiB) a presigned upload accepts (S3's single POST limit is 5 GiB)."""
    per_dataset_max_mb: dict[str, Annotated[int, Field(gt=0, le=5120)]] = Field(default_factory=dict)
    """Overrides of `max_mb` by CSV dataset name."""
    expires_s: Annotated[int, Field(ge=30, le=3600)] = 300
    """How long a presigned upload stays valid."""

    def max_bytes(self, dataset: str) -> int:
        return self.per_dataset_max_mb.get(dataset, self.max_mb) * 1024 * 1024


class ApiThrottling(StrictModel):
    rate_limit: Annotated[float, Field(gt=0, le=10000)] = 20
    """Steady requests per second on the default stage."""
    burst_limit: Annotated[int, Field(gt=0, le=5000)] = 40


class ApiConfig(StrictModel):
    auth: ApiAuth = ApiAuth()
    cors_origins: tuple[Annotated[str, Field(pattern=r"^https?://[^/\s*]+$")], ...] = ()
    """Browser origins allowed to call the API (`https://host[:port]`); none: no CORS headers at all."""
    uploads: ApiUploads = ApiUploads()
    throttling: ApiThrottling = ApiThrottling()
    marts: tuple[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], ...] | None = None
    """Marts `GET /marts/{name}` serves; default: every view in the sql/ folder's marts/."""
    query_timeout_s: Annotated[int, Field(ge=1, le=28)] = 25
    """Longest a request waits for Athena before answering 503 with Retry-After (API Gateway cuts at 30 s)."""
    result_reuse_minutes: Annotated[int, Field(ge=0, le=10080)] = 15
    """Athena query result reuse: answers up to this old are reused (0: off)."""
