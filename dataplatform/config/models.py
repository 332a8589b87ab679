"""Typed models for pipeline.yaml: the one file that describes sources, datasets, schedule and reporting."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date
from graphlib import CycleError, TopologicalSorter
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from dataplatform.config.api import ApiConfig
from dataplatform.config.conversion import check_conversion, check_rates_contract
from dataplatform.config.number_format import NumberFormat
from dataplatform.config.sources import CsvSource, PostgresSource, RestSource, Source
from dataplatform.config.strict_model import StrictModel
from dataplatform.naming import Zone, glue_database

IDENTIFIER = r"^[a-z][a-z0-9_]*$"
SCALAR_TYPES = ("string", "integer", "bigint", "double", "boolean", "date", "timestamp")
DECIMAL_TYPE = re.compile(r"^decimal\((\d{1,2}),\s*(\d{1,2})\)$")
RULE_KINDS = ("not_null", "non_negative", "positive", "in_set", "regex", "date_range")


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
    normalize: Literal["upper", "lower", "none"] = "none"
    """Case normalization of a string value after trimming, before its rules run (e.g. `upper` for codes)."""

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

    @model_validator(mode="after")
    def _normalize_strings_only(self) -> Column:
        if self.normalize != "none" and self.type != "string":
            raise PydanticCustomError(
                "column_normalize",
                "normalize applies to string columns only; '{name}' has type {type}",
                {"at": "normalize", "name": self.name, "type": self.type},
            )
        return self

    @property
    def source_name(self) -> str:
        return self.source or self.name

    @property
    def is_numeric(self) -> bool:
        return self.type in NUMERIC_TYPES or self.type.startswith("decimal")


class CurrencyConversion(StrictModel):
    """Convert amounts to the reporting currency through the rates dataset (rate on the date or nearest earlier).

    Rounding rule and column names: docs/contracts.md ("Currency"), dataplatform/transform/currency.py.
    """

    rates_dataset: str = "exchange_rates"
    amount_columns: Annotated[tuple[str, ...], Field(min_length=1)]
    currency_column: str
    date_column: str
    quantity_column: str | None = None
    """When set, the amounts are unit prices: what is converted is the line amount, amount x quantity."""


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
            check_conversion(self, self.currency, require)
        return self

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


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
    api: ApiConfig = ApiConfig()
    """The HTTP API (auth, CORS, uploads, throttling): dataplatform/config/api.py."""
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
            if ds.contract.currency:
                check_rates_contract(
                    self.datasets[ds.contract.currency.rates_dataset].contract, ds.contract.currency.rates_dataset
                )
        self.waves()  # raises on a cycle
        self._upload_limits()
        return self

    def _upload_limits(self) -> None:
        for name in self.api.uploads.per_dataset_max_mb:
            if name not in self.uploadable_datasets():
                raise PydanticCustomError(
                    "api_uploads",
                    "'{name}' is not a CSV dataset reading a landing/ prefix; uploadable: {names}",
                    {
                        "at": f"api.uploads.per_dataset_max_mb.{name}",
                        "name": name,
                        "names": ", ".join(self.uploadable_datasets()) or "none",
                    },
                )

    def uploadable_datasets(self) -> dict[str, str]:
        """CSV datasets that read a landing prefix -> that prefix: where an API upload lands."""
        prefixes = {name: ds.source.access().landing_prefix for name, ds in self.datasets.items()}
        return {
            name: prefix for name, prefix in prefixes.items() if prefix and self.datasets[name].source.kind == "csv"
        }

    def waves(self) -> list[list[str]]:
        """Datasets grouped into standardization waves (sorted): each wave depends only on earlier ones."""
        sorter = TopologicalSorter({name: ds.depends_on for name, ds in self.datasets.items()})
        try:
            sorter.prepare()
        except CycleError as exc:
            cycle = " -> ".join(_dependency_order(exc.args[1]))
            raise PydanticCustomError(
                "depends_on", "dependency cycle: {cycle}", {"at": "datasets", "cycle": cycle}
            ) from None
        waves: list[list[str]] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            waves.append(ready)
            sorter.done(*ready)
        return waves

    def glue_database(self, zone: Zone) -> str:
        """Glue/Athena database of a zone (`dataplatform.naming.glue_database`)."""
        return glue_database(self.project, zone)

    def datasets_of_kind(self, kind: str) -> list[str]:
        return [n for n, ds in self.datasets.items() if ds.source.kind == kind]

    def secret_names(self) -> list[str]:
        return sorted({name for ds in self.datasets.values() for name in ds.source.access().secrets})


def _dependency_order(cycle: list[str]) -> list[str]:
    """graphlib's cycle (each node a dependency of the next) as `a -> b -> a` where a depends on b, starting
    at the alphabetically first node so the message is the same whatever order the datasets are in."""
    nodes = list(reversed(cycle))[:-1]
    first = nodes.index(min(nodes))
    ordered = nodes[first:] + nodes[:first]
    return [*ordered, ordered[0]]


__all__ = [
    "Column",
    "Contract",
    "CsvSource",
    "CurrencyConversion",
    "Dataset",
    "PipelineConfig",
    "PostgresSource",
    "RestSource",
    "Rule",
    "Source",
    "StrictModel",
]
