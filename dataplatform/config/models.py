"""Typed models for pipeline.yaml: the one file that describes sources, datasets, schedule and reporting."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

IDENTIFIER = r"^[a-z][a-z0-9_]*$"
SCALAR_TYPES = ("string", "integer", "bigint", "double", "boolean", "date", "timestamp")
DECIMAL_TYPE = re.compile(r"^decimal\((\d{1,2}),\s*(\d{1,2})\)$")
RULE_KINDS = ("not_null", "non_negative", "positive", "in_set", "regex", "date_range")


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- contract


class Rule(StrictModel):
    """One row-level check. Failing rows go to quarantine with the rule name, column and original value."""

    kind: Literal["not_null", "non_negative", "positive", "in_set", "regex", "date_range"]
    values: tuple[str, ...] | None = None  # in_set
    pattern: str | None = None  # regex
    min: date | None = None  # date_range
    max: date | None = None  # date_range

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, raw: Any) -> Any:
        """Accept `positive` or `{in_set: [..]}` / `{regex: ..}` / `{date_range: {min, max}}`."""
        if isinstance(raw, str):
            if raw not in RULE_KINDS:
                raise PydanticCustomError(
                    "unknown_rule",
                    "unknown rule '{rule}'; expected one of: {kinds}",
                    {"rule": raw, "kinds": ", ".join(RULE_KINDS)},
                )
            return {"kind": raw}
        if isinstance(raw, dict) and "kind" not in raw:
            if len(raw) != 1:
                raise PydanticCustomError(
                    "rule_shape", "a rule is a name or a mapping with exactly one rule name as key"
                )
            ((name, arg),) = raw.items()
            if name not in RULE_KINDS:
                raise PydanticCustomError(
                    "unknown_rule",
                    "unknown rule '{rule}'; expected one of: {kinds}",
                    {"rule": name, "kinds": ", ".join(RULE_KINDS)},
                )
            if name == "in_set":
                return {"kind": name, "values": [str(v) for v in (arg or [])]}
            if name == "regex":
                return {"kind": name, "pattern": arg}
            if name == "date_range":
                if not isinstance(arg, dict):
                    raise PydanticCustomError("rule_shape", "date_range expects a mapping {min, max}")
                return {"kind": name, **arg}
            return {"kind": name}
        return raw

    @model_validator(mode="after")
    def _arguments(self) -> Rule:
        if self.kind == "in_set" and not self.values:
            raise PydanticCustomError("rule_args", "in_set expects a non-empty list of values")
        if self.kind == "regex":
            if not self.pattern:
                raise PydanticCustomError("rule_args", "regex expects a pattern")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise PydanticCustomError(
                    "rule_args", "regex pattern does not compile: {err}", {"err": str(exc)}
                ) from exc
        if self.kind == "date_range" and self.min is None and self.max is None:
            raise PydanticCustomError("rule_args", "date_range expects min, max or both")
        return self


NUMERIC_TYPES = ("integer", "bigint", "double")


class NumberFormat(StrictModel):
    """How numbers are written in a text source: `1.234,90` is {decimal: ",", grouping: "."}."""

    decimal: Literal[".", ","] = "."
    grouping: Literal["", ",", ".", " ", "'", "\u00a0", "\u202f"] = ""
    """Thousands separator, or "" for none. Groups must be of three digits (`1.234.567`); a value that uses it
    otherwise (`12.34,5`) is not a number and goes to quarantine."""

    @model_validator(mode="after")
    def _distinct(self) -> NumberFormat:
        if self.decimal == self.grouping:
            raise PydanticCustomError("number_format", "decimal and grouping separators must differ")
        return self


class Column(StrictModel):
    name: Annotated[str, Field(pattern=IDENTIFIER)]
    """Curated (snake_case) name."""
    source: str | None = None
    """Name in the source, if different (e.g. `Transaction_ID`). Defaults to `name`."""
    type: str
    """string, integer, bigint, double, boolean, date, timestamp or decimal(p,s)."""
    nullable: bool = True
    formats: tuple[str, ...] = ()
    """Explicit input formats for date/timestamp casts (Spark datetime patterns), tried in order."""
    number_format: NumberFormat | None = None
    """Numeric columns of text sources: decimal and grouping separators (default: the source's, else `1234.5`)."""
    rules: tuple[Rule, ...] = ()

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        value = value.strip().lower()
        if value in SCALAR_TYPES:
            return value
        match = DECIMAL_TYPE.match(value)
        if match:
            precision, scale = int(match.group(1)), int(match.group(2))
            if 1 <= precision <= 38 and scale <= precision:
                return f"decimal({precision},{scale})"
        raise PydanticCustomError(
            "column_type",
            "expected one of {types} or decimal(p,s) with 1 <= p <= 38 and s <= p; got '{value}'",
            {"types": ", ".join(SCALAR_TYPES), "value": value},
        )

    @property
    def source_name(self) -> str:
        return self.source or self.name

    @property
    def is_numeric(self) -> bool:
        return self.type in NUMERIC_TYPES or self.type.startswith("decimal")


class CurrencyConversion(StrictModel):
    """Convert amounts to the reporting currency through the rates dataset (rate on the date or nearest earlier)."""

    rates_dataset: str = "exchange_rates"
    amount_columns: Annotated[tuple[str, ...], Field(min_length=1)]
    currency_column: str
    date_column: str


class Contract(StrictModel):
    columns: Annotated[tuple[Column, ...], Field(min_length=1)]
    key: Annotated[tuple[str, ...], Field(min_length=1)]
    partition_column: str
    """A date column; curated data is partitioned by it (partition projection in Athena)."""
    updated_at: str | None = None
    """Column ordering duplicates: the latest wins, then the latest ingest."""
    schema_drift: Literal["evolve", "freeze"] = "freeze"
    """freeze: only contract columns reach curated (a CSV file with other columns is rejected, a REST record's
    other fields and a table's other columns are not extracted); evolve: new columns are added as nullable."""
    currency: CurrencyConversion | None = None

    @model_validator(mode="after")
    def _columns_exist(self) -> Contract:
        names = [c.name for c in self.columns]
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                raise PydanticCustomError(
                    "contract", "duplicate column '{name}'", {"at": f"columns[{i}].name", "name": name}
                )
            seen.add(name)

        def require(field: str, column: str | None) -> None:
            if column is not None and column not in seen:
                raise PydanticCustomError(
                    "contract",
                    "column '{column}' is not in the contract columns ({names})",
                    {"at": field, "column": column, "names": ", ".join(names)},
                )

        for i, key in enumerate(self.key):
            require(f"key[{i}]", key)
        require("partition_column", self.partition_column)
        require("updated_at", self.updated_at)
        partition = self.column(self.partition_column)
        if partition.type != "date":
            raise PydanticCustomError(
                "contract",
                "'{column}' must have type date, not {type}",
                {"at": "partition_column", "column": partition.name, "type": partition.type},
            )
        if self.currency:
            for i, amount in enumerate(self.currency.amount_columns):
                require(f"currency.amount_columns[{i}]", amount)
            require("currency.currency_column", self.currency.currency_column)
            require("currency.date_column", self.currency.date_column)
        return self

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


# ---------------------------------------------------------------- sources


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
        if value.startswith(("s3://", "https://", "http://", "landing/", *LOCAL_DIRECTORY_PREFIXES)):
            return value
        raise PydanticCustomError(
            "location",
            "expected 'landing/<prefix>/', 's3://bucket/prefix/', an https:// URL, or a local directory "
            "('./dir/', local runs only); got '{v}'",
            {"v": value},
        )

    @property
    def is_local_directory(self) -> bool:
        return self.location.startswith(LOCAL_DIRECTORY_PREFIXES)


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


Source = Annotated[CsvSource | RestSource | PostgresSource, Field(discriminator="kind")]


class Dataset(StrictModel):
    description: str = ""
    source: Source
    contract: Contract
    depends_on: tuple[str, ...] = ()
    """Datasets that must be standardized before this one (e.g. exchange_rates for currency conversion)."""

    @model_validator(mode="after")
    def _number_formats(self) -> Dataset:
        """Numeric columns get the CSV source's number format unless they name their own."""
        for i, column in enumerate(self.contract.columns):
            if column.number_format is None:
                continue
            if not column.is_numeric:
                raise PydanticCustomError(
                    "number_format",
                    "number_format applies to numeric columns, not {type}",
                    {"at": f"contract.columns[{i}].number_format", "type": column.type},
                )
            if isinstance(self.source, PostgresSource):
                raise PydanticCustomError(
                    "number_format",
                    "Postgres numbers are typed; number_format is for text sources (csv, rest)",
                    {"at": f"contract.columns[{i}].number_format"},
                )
        if not isinstance(self.source, CsvSource) or self.source.number_format == NumberFormat():
            return self
        columns = tuple(
            c.model_copy(update={"number_format": self.source.number_format})
            if c.is_numeric and c.number_format is None
            else c
            for c in self.contract.columns
        )
        contract = self.contract.model_copy(update={"columns": columns})
        object.__setattr__(self, "contract", contract)  # frozen model: set once, during validation
        return self


# ---------------------------------------------------------------- pipeline


class Schedule(StrictModel):
    cron: str
    """EventBridge Scheduler cron: six fields `min hour day-of-month month day-of-week year`."""
    timezone: str = "UTC"
    enabled: bool = True

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        inner = value.strip()
        if inner.startswith("cron(") and inner.endswith(")"):
            inner = inner[5:-1]
        fields = inner.split()
        if len(fields) != 6:
            raise PydanticCustomError(
                "cron",
                "expected 6 cron fields (minutes hours day-of-month month day-of-week year); got {n} in '{v}'",
                {"n": len(fields), "v": value},
            )
        token = r"[0-9A-Za-z*?/,\-#L W]+"
        bad = [f for f in fields if not re.fullmatch(token, f)]
        if bad:
            raise PydanticCustomError("cron", "invalid cron field '{f}' in '{v}'", {"f": bad[0], "v": value})
        if "?" not in (fields[2], fields[4]):
            raise PydanticCustomError("cron", "one of day-of-month or day-of-week must be '?' in '{v}'", {"v": value})
        minute, hour = fields[0], fields[1]
        for name, f, top in (("minutes", minute, 59), ("hours", hour, 23)):
            for part in re.split(r"[,/\-]", f):
                if part.isdigit() and int(part) > top:
                    raise PydanticCustomError(
                        "cron",
                        "{name} value {p} is out of range 0-{top} in '{v}'",
                        {"name": name, "p": part, "top": top, "v": value},
                    )
        return " ".join(fields)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise PydanticCustomError(
                "timezone", "unknown IANA time zone '{v}' (e.g. UTC, Europe/Berlin)", {"v": value}
            ) from exc
        return value

    @property
    def expression(self) -> str:
        return f"cron({self.cron})"


class GlueSizing(StrictModel):
    worker_type: Literal["G.1X", "G.2X", "G.4X", "G.8X", "G.025X"] = "G.1X"
    number_of_workers: Annotated[int, Field(ge=2, le=299)] = 2
    timeout_minutes: Annotated[int, Field(gt=0)] = 60
    auto_scaling: bool = True


class Segments(StrictModel):
    """Lifetime-value thresholds (reporting currency) for marts.customer_segments; below medium is Low."""

    vip: float = 5000
    high: float = 2000
    medium: float = 500

    @model_validator(mode="after")
    def _ordered(self) -> Segments:
        if not self.vip > self.high > self.medium >= 0:
            raise PydanticCustomError("segments", "expected vip > high > medium >= 0")
        return self


class Quality(StrictModel):
    min_date: date = date(2000, 1, 1)
    max_future_days: Annotated[int, Field(ge=0)] = 1
    """Dates later than today + this many days violate the date-range assertion."""


class Alerts(StrictModel):
    email: str | None = None
    """Subscribed to the failure topic when set."""


class PipelineConfig(StrictModel):
    project: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")]
    reporting_currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    schedule: Schedule
    raw_retention_days: Annotated[int, Field(gt=0)] = 90
    glue: GlueSizing = GlueSizing()
    segments: Segments = Segments()
    quality: Quality = Quality()
    alerts: Alerts = Alerts()
    default_window_days: Annotated[int, Field(gt=0)] = 1
    """A scheduled run without a window covers the previous N days."""
    sql_dir: str = "sql"
    """Folder of the pipeline's marts and assertions, relative to the config file (a missing folder: none)."""
    datasets: Annotated[dict[Annotated[str, Field(pattern=IDENTIFIER)], Dataset], Field(min_length=1)]

    @model_validator(mode="after")
    def _dependencies(self) -> PipelineConfig:
        for name, ds in self.datasets.items():
            for dep in ds.depends_on:
                if dep not in self.datasets:
                    raise PydanticCustomError(
                        "depends_on",
                        "unknown dataset '{dep}'; expected one of: {names}",
                        {"at": f"datasets.{name}.depends_on", "dep": dep, "names": ", ".join(self.datasets)},
                    )
            if ds.contract.currency and ds.contract.currency.rates_dataset not in ds.depends_on:
                raise PydanticCustomError(
                    "depends_on",
                    "must include '{rates}', which its currency conversion reads",
                    {"at": f"datasets.{name}.depends_on", "rates": ds.contract.currency.rates_dataset},
                )
        self.waves()  # raises on a cycle
        return self

    def waves(self) -> list[list[str]]:
        """Datasets grouped into standardization waves: each wave depends only on earlier ones."""
        remaining = {name: set(ds.depends_on) for name, ds in self.datasets.items()}
        done: set[str] = set()
        waves: list[list[str]] = []
        while remaining:
            ready = sorted(n for n, deps in remaining.items() if deps <= done)
            if not ready:
                cycle = " -> ".join(_find_cycle(remaining))
                raise PydanticCustomError("depends_on", "dependency cycle: {cycle}", {"at": "datasets", "cycle": cycle})
            waves.append(ready)
            done.update(ready)
            for n in ready:
                del remaining[n]
        return waves

    def glue_database(self, zone: Literal["curated", "marts", "audit"]) -> str:
        """Glue/Athena database of a zone: `<project>_<zone>`, with '-' as '_' (Athena names allow no '-')."""
        return f"{self.project.replace('-', '_')}_{zone}"

    def datasets_of_kind(self, kind: str) -> list[str]:
        return [n for n, ds in self.datasets.items() if ds.source.kind == kind]

    def secret_names(self) -> list[str]:
        names: list[str] = []
        for ds in self.datasets.values():
            src = ds.source
            if isinstance(src, RestSource) and src.auth.secret:
                names.append(src.auth.secret)
            if isinstance(src, PostgresSource):
                names.append(src.connection_secret)
        return sorted(set(names))


def _find_cycle(graph: dict[str, set[str]]) -> list[str]:
    start = sorted(graph)[0]
    path: list[str] = []
    node = start
    while node not in path:
        path.append(node)
        node = sorted(d for d in graph[node] if d in graph)[0]
    return [*path[path.index(node) :], node]
