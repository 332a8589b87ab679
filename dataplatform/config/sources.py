"""Source kinds: the pipeline.yaml model of each, and the one registry that says what a kind needs.

Adding a kind (docs/adding-a-source-kind.md) means: a model here with `kind: Literal[...]` and `access()`, one
`SOURCE_KINDS` entry, an extractor module under dataplatform/ingest/ and a Lambda folder `lambdas/ingest_<kind>/`.
The config union, the loader's messages, the ingest Lambdas, their grants, the workflow's Choice on `kind` and
the local runner all read the registry.
"""

from __future__ import annotations

import pkgutil
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from dataplatform.config.number_format import NumberFormat
from dataplatform.config.strict_model import StrictModel
from dataplatform.layout import LANDING_ROOT, landing_prefix, split_s3_uri
from dataplatform.manifest import RawFormat
from dataplatform.naming import ingest_folder


@dataclass(frozen=True)
class SourceAccess:
    """What one dataset's source reads beyond its own lake prefixes. infra/ingestion.py turns it into IAM grants;
    nothing else may be granted to an ingest Lambda."""

    landing_prefix: str | None = None
    """A prefix of the raw bucket's landing zone it lists and reads (CSV drops)."""
    external_s3: tuple[str, str] | None = None
    """(bucket, prefix) outside the lake it lists and reads."""
    secrets: tuple[str, ...] = ()
    """Secrets Manager secret names it reads."""
    vpc: bool = False
    """Its Lambda must run in the VPC given by cdk.json's context (e.g. to reach a private database)."""


LOCAL_DIRECTORY_PREFIXES = ("./", "../", "/")
"""A CSV location starting with one of these is a directory on this machine (local runs only)."""


class CsvSource(StrictModel):
    kind: Literal["csv"]
    location: str
    """`landing/<prefix>/` in the raw bucket, `s3://bucket/prefix/`, an `https://` URL of one file, or (local runs
    only) a directory on this machine: `./dir/`, `../dir/` or `/abs/dir/`, relative to the config file."""
    pattern: str = "*.csv"
    encoding: Literal["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16"] = "utf-8"
    """A file that starts with a byte-order mark is read in the encoding the mark names (UTF-8 or UTF-16 LE/BE),
    whatever is set here; utf-16 needs the mark."""
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ","
    quotechar: Annotated[str, Field(min_length=1, max_length=1)] = '"'
    number_format: NumberFormat = NumberFormat()
    """Default for the numeric columns of the contract (a column's own number_format wins)."""

    @field_validator("location")
    @classmethod
    def _location(cls, value: str) -> str:
        if value.startswith(("s3://", "https://", "http://", *LOCAL_DIRECTORY_PREFIXES)) or landing_prefix(value):
            return value
        raise PydanticCustomError(
            "location",
            "expected '{landing}<prefix>/', 's3://bucket/prefix/', an https:// URL, or a local directory "
            "('./dir/', local runs only); got '{v}'",
            {"v": value, "landing": LANDING_ROOT},
        )

    @property
    def is_local_directory(self) -> bool:
        return self.location.startswith(LOCAL_DIRECTORY_PREFIXES)

    @property
    def landing_prefix(self) -> str | None:
        """The raw-bucket prefix of a landing location (ending in '/'); None for S3 and URL locations."""
        return landing_prefix(self.location)

    def access(self) -> SourceAccess:
        external = split_s3_uri(self.location) if self.location.startswith("s3://") else None
        return SourceAccess(landing_prefix=self.landing_prefix, external_s3=external)


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def is_plain_http(url: str) -> bool:
    """http:// to anything but this machine (loopback traffic never leaves it, so local runs need no TLS)."""
    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "") not in LOOPBACK_HOSTS


class RestAuth(StrictModel):
    type: Literal["none", "bearer", "api_key", "basic"] = "none"
    secret: str | None = None
    """Secrets Manager secret name. bearer: {"token"}; api_key: {"api_key"}; basic: {"username","password"}."""
    name: str = "X-API-Key"
    """api_key only: header or query parameter name."""
    location: Literal["header", "query"] = "header"

    @model_validator(mode="after")
    def _secret_required(self) -> RestAuth:
        if self.type != "none" and not self.secret:
            raise PydanticCustomError(
                "auth", "auth type '{t}' needs a secret (a Secrets Manager secret name)", {"t": self.type}
            )
        return self


class Paginator(StrictModel):
    type: Literal["single_page", "page_number", "offset", "cursor", "next_url", "link_header"] = "single_page"
    page_param: str = "page"
    """page_number: query parameter holding the page number."""
    start_page: int = 1
    offset_param: str = "offset"
    limit_param: str = "limit"
    page_size: Annotated[int, Field(gt=0)] = 100
    cursor_param: str = "cursor"
    """cursor: query parameter the cursor is sent in."""
    cursor_path: str = "next_cursor"
    """cursor: dotted path of the next cursor in the response body."""
    next_url_path: str = "next"
    """next_url: dotted path of the next page's URL in the response body."""
    total_path: str | None = None
    """page_number/offset: optional dotted path of the total record count."""


class Incremental(StrictModel):
    cursor_field: str
    """Field in each record whose maximum becomes the proposed watermark."""
    param: str
    """Query parameter the stored watermark is sent in (e.g. updated_since)."""
    initial_value: str
    lag_seconds: Annotated[int, Field(ge=0)] = 60
    """Like Postgres' lag: the proposed watermark is at most the extract's start minus this, so a record whose
    (timestamp) cursor value was set just before the extract but became visible after it is read by the next run;
    records newer than that are read again then, and dropped as duplicates of their key."""


class RestSource(StrictModel):
    kind: Literal["rest"]
    base_url: str
    path: str = ""
    """May contain {window_start} and {window_end} (ISO dates of the run window)."""
    params: dict[str, str | int | float | bool] = {}
    auth: RestAuth = RestAuth()
    paginator: Paginator = Paginator()
    records_path: str | None = None
    """Dotted path of the record list in the response; None means the body is the list."""
    records_shape: Literal["list", "frankfurter_timeseries"] = "list"
    incremental: Incremental | None = None
    timeout_s: Annotated[float, Field(gt=0)] = 30.0
    max_retries: Annotated[int, Field(ge=0)] = 5
    backoff_s: Annotated[float, Field(ge=0)] = 0.5
    max_retry_after_s: Annotated[float, Field(ge=0)] = 60.0
    """A Retry-After longer than this is cut to it (an API asking for an hour must not stall the run)."""
    max_pages: Annotated[int, Field(gt=0)] = 10_000
    allow_insecure: bool = False
    """Allow a plain http:// base_url that is not a loopback address. Never allowed with auth on AWS."""

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise PydanticCustomError("url", "expected an http(s):// URL; got '{v}'", {"v": value})
        return value.rstrip("/")

    @model_validator(mode="after")
    def _tls(self) -> RestSource:
        if is_plain_http(self.base_url) and not self.allow_insecure:
            raise PydanticCustomError(
                "insecure",
                "'{url}' is plain http: data{creds} would travel unencrypted; use https://, or set "
                "allow_insecure: true for a trusted network",
                {
                    "at": "base_url",
                    "url": self.base_url,
                    "creds": " and credentials" if self.auth.type != "none" else "",
                },
            )
        return self

    def access(self) -> SourceAccess:
        return SourceAccess(secrets=(self.auth.secret,) if self.auth.secret else ())


class PostgresSource(StrictModel):
    kind: Literal["postgres"]
    connection_secret: str
    """Secrets Manager secret: {"host","port","dbname","username","password"} or {"uri"}."""
    table: str | None = None
    query: str | None = None
    load: Literal["full", "incremental"] = "full"
    cursor_column: str | None = None
    lag_seconds: Annotated[int, Field(ge=0)] = 60
    """Upper bound = now() - lag at start, so rows committed late with older cursor values are not skipped."""
    initial_value: str = "1970-01-01T00:00:00+00:00"
    batch_rows: Annotated[int, Field(gt=0)] = 100_000
    part_max_rows: Annotated[int, Field(gt=0)] = 1_000_000
    vpc: bool = False
    """Run the extract Lambda inside the VPC given in cdk.json context (postgres_vpc_id)."""
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] | None = None
    """libpq sslmode; unset: the secret URI's, else verify-full in a deployed Lambda, else libpq's default."""
    sslrootcert: str | None = None
    """Trusted root for verify-ca/verify-full: a file path or `system`; unset: the secret's `sslrootcert` PEM,
    else the system store."""

    @model_validator(mode="after")
    def _table_or_query(self) -> PostgresSource:
        if (self.table is None) == (self.query is None):
            raise PydanticCustomError("source", "give exactly one of 'table' or 'query'")
        if self.load == "incremental" and not self.cursor_column:
            raise PydanticCustomError("source", "load 'incremental' needs 'cursor_column'")
        return self

    def access(self) -> SourceAccess:
        return SourceAccess(secrets=(self.connection_secret,), vpc=self.vpc)


@dataclass(frozen=True)
class SourceKind:
    """One kind of source, as the rest of the platform sees it."""

    name: str
    """The `kind:` value in pipeline.yaml."""
    model: type[StrictModel]
    extractor: str
    """`module:Class` of its extractor. Resolved only where ingestion runs: extractors import their libraries."""
    raw_format: RawFormat
    """How the raw zone stores what it extracts."""
    memory_mb: int = 512
    ephemeral_storage_mb: int = 512
    """/tmp of its Lambda (Lambda's minimum is 512)."""

    @property
    def lambda_folder(self) -> str:
        """`lambdas/<folder>/handler.py` that ingests this kind."""
        return ingest_folder(self.name)

    def load_extractor(self) -> Any:
        """The extractor class: `cls.for_dataset(dataset, services)` builds one for a dataset."""
        return pkgutil.resolve_name(self.extractor)


SOURCE_KINDS: dict[str, SourceKind] = {
    kind.name: kind
    for kind in (
        SourceKind("csv", CsvSource, "dataplatform.ingest.csv_source:CsvExtractor", "csv.gz"),
        SourceKind("rest", RestSource, "dataplatform.ingest.rest_source:RestExtractor", "jsonl.gz"),
        # Postgres parts are staged in /tmp before upload (bounded by part_max_rows): give them room.
        SourceKind(
            "postgres",
            PostgresSource,
            "dataplatform.ingest.postgres_source:PostgresExtractor",
            "parquet",
            memory_mb=1024,
            ephemeral_storage_mb=2048,
        ),
    )
}

# The `source:` of a dataset: one of the registered models, chosen by its `kind`.
Source = Annotated[Union[tuple(kind.model for kind in SOURCE_KINDS.values())], Field(discriminator="kind")]  # noqa: UP007


def source_kind(name: str) -> SourceKind:
    """The registry entry of a kind; a clear error for an unregistered one."""
    if name not in SOURCE_KINDS:
        raise ValueError(f"unknown source kind '{name}'; expected one of: {', '.join(SOURCE_KINDS)}")
    return SOURCE_KINDS[name]
