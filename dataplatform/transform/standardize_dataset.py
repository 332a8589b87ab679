"""Standardize one dataset for one run: raw parts (per manifest) -> the run's branch of the curated Iceberg table
and of its quarantine table, plus counts.

Steps, all contract-driven (pipeline.yaml `datasets.<name>.contract`):
1. read every raw part as listed in the manifests (csv.gz with the manifest's encoding/delimiter/header,
   jsonl.gz, parquet), keeping source values as they came (strings for text formats);
2. map source names to curated snake_case names; apply the schema-drift policy;
3. cast to contract types (explicit date formats, tried in order), clean text, check rules, and convert
   amounts to the reporting currency; every failure becomes a reason on the row;
4. rows with reasons -> the quarantine table (this run's rows replaced), the rest: one row per key (latest
   `updated_at`, then latest ingest, then last in the files), MERGEd on the key into the curated table;
5. both writes go to the run's branch (curated_tables.py): nothing is visible on main until the publish job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from dataplatform.config.models import Contract, PipelineConfig
from dataplatform.naming import quarantine_table, run_branch
from dataplatform.transform import currency as fx
from dataplatform.transform.columns import REASON_TYPE, clean_text, column_reasons, reason, typed_value
from dataplatform.transform.curated_tables import IcebergTable, refs, table_exists
from dataplatform.transform.names import converted_columns, snake_case
from dataplatform.transform.raw_input import RawInput, read_raw
from dataplatform.transform.stage_run import StagedTable, stage_run

logger = logging.getLogger(__name__)

META_COLUMNS = ("_ingest_date", "_ingested_at", "_run_id")
"""Lineage kept on every curated row: which ingest produced it (also the dedup tie-breakers)."""


class SchemaDriftError(ValueError):
    """The raw schema differs from a `schema_drift: freeze` contract (or cannot be evolved)."""


class RawCountMismatchError(ValueError):
    """Spark read a different number of rows than the manifests record."""


@dataclass(frozen=True)
class StandardizeRequest:
    dataset: str
    run_id: str
    config: PipelineConfig
    inputs: tuple[RawInput, ...]
    curated_root: str
    """`s3://<curated bucket>/curated/`: each curated table lives at `<curated_root><dataset>/`."""
    quarantine_root: str
    """`s3://<curated bucket>/curated/_quarantine/`: each quarantine table lives at `<quarantine_root><dataset>/`."""

    @property
    def contract(self) -> Contract:
        return self.config.datasets[self.dataset].contract

    def curated_table(self, dataset: str | None = None) -> IcebergTable:
        name = dataset or self.dataset
        return IcebergTable(self.config.glue_database("curated"), name, dataset_path(self.curated_root, name))

    def quarantine_table(self) -> IcebergTable:
        location = dataset_path(self.quarantine_root, self.dataset)
        return IcebergTable(self.config.glue_database("curated"), quarantine_table(self.dataset), location)

    @property
    def branch(self) -> str:
        return run_branch(self.run_id)


@dataclass
class StandardizeResult:
    dataset: str
    run_id: str
    raw_rows: int
    curated_rows: int
    quarantined_rows: int
    duplicate_rows: int
    curated: StagedTable
    quarantine: StagedTable
    evolved_columns: list[str] = field(default_factory=list)
    status: str = "SUCCEEDED"

    def record(self) -> dict[str, Any]:
        """The run record (docs/contracts.md): runs/<run_id>/<dataset>/standardize.json."""
        return {
            "dataset": self.dataset,
            "run_id": self.run_id,
            "raw_rows": self.raw_rows,
            "curated_rows": self.curated_rows,
            "quarantined_rows": self.quarantined_rows,
            "duplicate_rows": self.duplicate_rows,
            "evolved_columns": self.evolved_columns,
            "status": self.status,
            "branch": self.curated.branch,
            "staged_snapshot_id": self.curated.staged_snapshot_id,
            "main_snapshot_id": self.curated.main_snapshot_id,
            "quarantine_staged_snapshot_id": self.quarantine.staged_snapshot_id,
            "quarantine_main_snapshot_id": self.quarantine.main_snapshot_id,
        }


def configure_session(spark: SparkSession) -> None:
    """Session settings the transforms rely on (set at run time so Glue and local behave the same)."""
    conf = spark.conf
    conf.set("spark.sql.session.timeZone", "UTC")
    # Unparseable dates become null (a cast failure) instead of raising SparkUpgradeException.
    conf.set("spark.sql.legacy.timeParserPolicy", "CORRECTED")
    conf.set("spark.sql.ansi.enabled", "false")


def dataset_path(root: str, dataset: str) -> str:
    return f"{root.rstrip('/')}/{dataset}/"


# ---------------------------------------------------------------- columns


@dataclass(frozen=True)
class ColumnPlan:
    """How each contract column is fed from the raw frame, and which raw columns are new."""

    sources: dict[str, str | None]
    """contract column -> raw column (None: absent)."""
    derived_from_ingest: str | None
    """The partition column when the source lacks it (snapshot tables): filled with the ingest date."""
    evolved: dict[str, str]
    """curated name -> raw column, for source columns the contract does not list (schema_drift: evolve)."""


def plan_columns(dataset: str, contract: Contract, raw_columns: list[str]) -> ColumnPlan:
    data_columns = [c for c in raw_columns if c not in (*META_COLUMNS, "_source_file", "_row")]
    by_lower = {c.lower(): c for c in data_columns}
    by_snake = {snake_case(c): c for c in data_columns}
    sources: dict[str, str | None] = {}
    for column in contract.columns:
        name = column.source_name
        match = name if name in data_columns else by_lower.get(name.lower()) or by_snake.get(column.name)
        sources[column.name] = match
    used = {s for s in sources.values() if s}
    extras = [c for c in data_columns if c not in used]
    derived = None
    partition = contract.partition_column
    if sources.get(partition) is None:
        derived = partition
    missing = [n for n, s in sources.items() if s is None and n != derived]
    if contract.schema_drift == "freeze":
        if extras:
            raise SchemaDriftError(
                f"dataset {dataset}: source column(s) {', '.join(repr(c) for c in extras)} not in the contract "
                "(schema_drift: freeze); add them to pipeline.yaml or switch the dataset to evolve"
            )
        if missing:
            raise SchemaDriftError(
                f"dataset {dataset}: contract column(s) {', '.join(repr(c) for c in missing)} missing from the "
                "source (schema_drift: freeze)"
            )
    evolved: dict[str, str] = {}
    names = {c.name for c in contract.columns}
    for raw in extras:
        curated = snake_case(raw)
        if curated in names or curated in evolved or curated.startswith("_"):
            raise SchemaDriftError(
                f"dataset {dataset}: new source column {raw!r} maps to {curated!r}, which already exists"
            )
        evolved[curated] = raw
    return ColumnPlan(sources=sources, derived_from_ingest=derived, evolved=evolved)


def type_rows(raw: DataFrame, request: StandardizeRequest, plan: ColumnPlan) -> DataFrame:
    """Typed contract columns, evolved columns (string), the raw values `_raw_<name>` and `_reasons`.

    Three projections, so each value is cleaned once and cast once, and the rule checks refer to the typed
    columns by name: one projection with every rule inlined generates Java methods too large to compile
    (Spark then falls back to slow interpreted evaluation).
    """
    contract = request.config.datasets[request.dataset].contract
    types = {f.name: f.dataType for f in raw.schema.fields}
    cleaned: list[SparkColumn] = []
    typed: list[SparkColumn] = []
    checks: list[SparkColumn] = []
    for column in contract.columns:
        if column.nullable and (column.name in contract.key or column.name == contract.partition_column):
            column = column.model_copy(update={"nullable": False})  # a row needs its key and partition
        name = column.name
        source = plan.sources[name]
        if source is not None:
            raw_col, raw_type = F.col(f"`{source}`"), types[source]
        elif name == plan.derived_from_ingest:
            raw_col, raw_type = F.col("_ingest_date").cast("string"), StringType()
        else:
            raw_col, raw_type = F.lit(None).cast("string"), StringType()
        is_text = isinstance(raw_type, StringType)
        cleaned.append(raw_col.alias(f"_raw_{name}"))
        if is_text:
            cleaned.append(clean_text(raw_col).alias(f"_txt_{name}"))
        text = F.col(f"_txt_{name}") if is_text else None
        value = typed_value(F.col(f"_raw_{name}"), raw_type, column, text=text)
        typed.append(value.cast(column.type).alias(name))
        checks.extend(
            column_reasons(
                None,
                raw_type,
                F.col(name),
                column,
                # The original as text is only built for failing rows (CASE WHEN is lazy).
                original=F.col(f"_raw_{name}").cast("string"),
                present=(text if text is not None else F.col(f"_raw_{name}")).isNotNull(),
            )
        )
    evolved = [clean_text(F.col(f"`{source}`")).alias(curated) for curated, source in plan.evolved.items()]
    evolved += [
        F.col(f"`{source}`").cast("string").alias(f"_raw_{curated}") for curated, source in plan.evolved.items()
    ]
    meta = [F.col(c) for c in (*META_COLUMNS, "_source_file", "_row")]
    step1 = raw.select(*cleaned, *evolved, *meta)
    keep = [c for c in step1.columns if not c.startswith("_txt_")]
    step2 = step1.select(*typed, *[F.col(c) for c in step1.columns])
    reasons = F.array_compact(F.array(*checks)).cast(f"array<{REASON_TYPE}>").alias("_reasons")
    return step2.select(*[c.name for c in contract.columns], *keep, reasons)


def convert_currency(typed: DataFrame, request: StandardizeRequest, rates: DataFrame | None) -> DataFrame:
    config = request.config
    contract = config.datasets[request.dataset].contract
    conv = contract.currency
    if conv is None:
        return typed
    rc = config.reporting_currency
    out = fx.attach_rates(typed, rates, currency=conv.currency_column, day=conv.date_column, reporting_currency=rc)
    out = fx.add_converted_amounts(out, contract, rc)
    missing = F.col(conv.currency_column).isNotNull() & F.col(conv.date_column).isNotNull() & F.col(fx.TO_RATE).isNull()
    value = F.concat_ws(" on ", F.col(conv.currency_column), F.col(conv.date_column).cast("string"))
    rate_reason = F.when(
        missing,
        reason("exchange_rate", conv.currency_column, value, f"rates of it and {rc} on one base, on or before the day"),
    ).when(
        fx.conversion_failed(contract),
        reason("exchange_rate", conv.currency_column, value, "an amount small enough to convert exactly"),
    )
    out = out.withColumn("_reasons", F.array_compact(F.concat(F.col("_reasons"), F.array(rate_reason))))
    return out.drop(fx.TO_RATE, fx.FROM_RATE)


def read_rates(spark: SparkSession, request: StandardizeRequest) -> DataFrame | None:
    """The rates this run converts with: the rates dataset's branch of this run when it exists (standardized in an
    earlier wave, not published yet), else its published main."""
    contract = request.contract
    if contract.currency is None:
        return None
    table = request.curated_table(contract.currency.rates_dataset)
    branches = refs(spark, table) if table_exists(spark, table) else {}
    if request.branch in branches:
        return spark.read.option("branch", request.branch).table(table.ident())
    if "main" in branches:
        return spark.table(table.ident())
    logger.warning("no curated %s: every foreign-currency row is quarantined", table)
    return None


# ---------------------------------------------------------------- write


def _ordered_curated_columns(contract: Contract, frame_columns: list[str], reporting_currency: str) -> list[str]:
    """Contract columns in contract order, then evolved columns (sorted), converted amounts, lineage."""
    first = [c.name for c in contract.columns]
    converted = [name for name, _ in converted_columns(contract)]
    known = {*first, *converted, *META_COLUMNS}
    evolved = sorted(c for c in frame_columns if c not in known and not c.startswith("_"))
    return [*first, *evolved, *converted, *META_COLUMNS]


def _static_columns(contract: Contract, reporting_currency: str) -> list[tuple[str, str]]:
    """(name, Spark SQL type) of the curated table as the contract alone defines it (a run without rows)."""
    cols = [(c.name, "int" if c.type == "integer" else c.type) for c in contract.columns]
    cols += converted_columns(contract)
    return [*cols, ("_ingest_date", "date"), ("_ingested_at", "timestamp"), ("_run_id", "string")]


def _quarantine_columns(contract: Contract, evolved: list[str]) -> list[tuple[str, str]]:
    """Quarantine rows: original values as strings, the reasons, where the row came from, and its run."""
    return [
        *[(c.name, "string") for c in contract.columns],
        *[(n, "string") for n in evolved],
        ("reasons", f"array<{REASON_TYPE}>"),
        ("reason", "string"),
        ("source_file", "string"),
        ("ingest_date", "date"),
        ("run_id", "string"),
    ]


def _stage_target(request: StandardizeRequest) -> dict[str, Any]:
    return {
        "curated": request.curated_table(),
        "quarantine": request.quarantine_table(),
        "contract": request.contract,
        "run_id": request.run_id,
        "branch": request.branch,
    }


def _columns_of(frame: DataFrame) -> list[tuple[str, str]]:
    return [(f.name, f.dataType.simpleString()) for f in frame.schema.fields]


def standardize(spark: SparkSession, request: StandardizeRequest) -> StandardizeResult:
    config = request.config
    if request.dataset not in config.datasets:
        raise ValueError(f"dataset {request.dataset!r} is not in the pipeline config ({', '.join(config.datasets)})")
    dataset = config.datasets[request.dataset]
    contract = dataset.contract
    rc = config.reporting_currency

    raw = read_raw(spark, request.inputs, dataset.source)
    if raw is None:  # nothing new: the tables exist (views and marts can read them), nothing is staged
        staged = stage_run(
            spark,
            **_stage_target(request),
            curated_columns=_static_columns(contract, rc),
            quarantine_columns=_quarantine_columns(contract, []),
            rows=None,
        )
        return StandardizeResult(request.dataset, request.run_id, 0, 0, 0, 0, staged.curated, staged.quarantine)

    plan = plan_columns(request.dataset, contract, raw.columns)
    # Cached: the as-of rate lookup reads the typed rows twice, and counting, quarantine and merge read the result.
    typed = type_rows(raw, request, plan).persist(StorageLevel.MEMORY_AND_DISK)
    checked = typed
    if contract.currency is not None:
        checked = convert_currency(typed, request, read_rates(spark, request)).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        return _finish(spark, request, plan, checked)
    finally:
        checked.unpersist()
        typed.unpersist()


def _latest_per_key(valid: DataFrame, contract: Contract) -> DataFrame:
    """One row per key: latest `updated_at` (a value beats NULL), then latest ingest, then last in the files."""
    order: list[SparkColumn] = []
    if contract.updated_at:
        order.append(F.col(contract.updated_at).desc_nulls_last())
    order += [
        F.col("_ingested_at").desc_nulls_last(),
        F.col("_source_file").desc_nulls_last(),
        F.col("_row").desc_nulls_last(),
    ]
    ranked = valid.withColumn("_rank", F.row_number().over(Window.partitionBy(*contract.key).orderBy(*order)))
    return ranked.where(F.col("_rank") == 1).drop("_rank")


def _finish(spark: SparkSession, request: StandardizeRequest, plan: ColumnPlan, typed: DataFrame) -> StandardizeResult:
    contract = request.contract
    rc = request.config.reporting_currency

    # One pass for the counts.
    groups = typed.groupBy((F.size("_reasons") > 0).alias("bad")).count().collect()
    tally = {bool(row["bad"]): int(row["count"]) for row in groups}
    quarantined_rows, accepted_rows = tally.get(True, 0), tally.get(False, 0)
    raw_rows = quarantined_rows + accepted_rows
    expected_rows = sum(item.manifest.rows for item in request.inputs)
    if raw_rows != expected_rows:
        files = ", ".join(p for item in request.inputs for p in item.paths)
        raise RawCountMismatchError(
            f"dataset {request.dataset}: read {raw_rows} rows but the manifests record {expected_rows} ({files})"
        )

    # Quarantine: original values as strings, the reasons, where the row came from, and the run.
    data_names = [c.name for c in contract.columns] + list(plan.evolved)
    quarantine = typed.where(F.size("_reasons") > 0).select(
        *[F.col(f"_raw_{n}").cast("string").alias(n) for n in data_names],
        F.col("_reasons").alias("reasons"),
        F.concat_ws("; ", F.transform("_reasons", lambda r: F.concat(r["column"], F.lit(":"), r["rule"]))).alias(
            "reason"
        ),
        F.col("_source_file").alias("source_file"),
        F.col("_ingest_date").alias("ingest_date"),
        F.lit(request.run_id).alias("run_id"),
    )

    curated_cols = [c for c in typed.columns if not c.startswith("_") or c in META_COLUMNS]
    valid = typed.where(F.size("_reasons") == 0).select(*curated_cols, "_source_file", "_row")
    latest = _latest_per_key(valid, contract)
    accepted = latest.select(*_ordered_curated_columns(contract, latest.columns, rc)).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    try:
        distinct_keys = accepted.count() if accepted_rows else 0
        staged = stage_run(
            spark,
            **_stage_target(request),
            curated_columns=_columns_of(accepted),
            quarantine_columns=_columns_of(quarantine),
            rows=(accepted if distinct_keys else None, quarantine if quarantined_rows else None),
        )
    finally:
        accepted.unpersist()
    # Rows that lost to a stored newer version of their key (an old window run again) count as duplicates too.
    stale_rows = distinct_keys - staged.curated_rows
    if stale_rows < 0:
        raise AssertionError(f"{request.dataset}: the merge wrote {staged.curated_rows} rows from {distinct_keys} keys")
    result = StandardizeResult(
        dataset=request.dataset,
        run_id=request.run_id,
        raw_rows=raw_rows,
        curated_rows=staged.curated_rows,
        quarantined_rows=quarantined_rows,
        duplicate_rows=accepted_rows - distinct_keys + stale_rows,
        curated=staged.curated,
        quarantine=staged.quarantine,
        evolved_columns=sorted(plan.evolved),
    )
    logger.info("standardized %s", result.record())
    return result
