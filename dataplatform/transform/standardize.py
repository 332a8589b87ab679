"""Standardize one dataset for one run: raw parts (per manifest) -> curated Parquet + quarantine + counts.

Steps, all contract-driven (pipeline.yaml `datasets.<name>.contract`):
1. read every raw part as listed in the manifests (csv.gz with the manifest's encoding/delimiter/header,
   jsonl.gz, parquet), keeping source values as they came (strings for text formats);
2. map source names to curated snake_case names; apply the schema-drift policy;
3. cast to contract types (explicit date formats, tried in order), clean text, check rules, and convert
   amounts to the reporting currency; every failure becomes a reason on the row;
4. rows with reasons -> quarantine (`<quarantine_root>/<dataset>/run_id=<run>/`), the rest -> merge;
5. merge: union the new rows with the curated partitions they touch (their partition dates, and the partitions
   that hold an older version of one of their keys), keep the latest version per key, write the result to a
   staging prefix, then swap it in per partition (see `_swap_partitions`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from dataplatform.config.models import Contract, CsvSource, PipelineConfig
from dataplatform.manifest import RawManifest
from dataplatform.transform import currency as fx
from dataplatform.transform.columns import REASON_TYPE, clean_text, column_reasons, reason, typed_value
from dataplatform.transform.names import converted_columns, snake_case
from dataplatform.transform.storage import HadoopFs

logger = logging.getLogger(__name__)

META_COLUMNS = ("_ingest_date", "_ingested_at", "_run_id")
"""Lineage kept on every curated row: which ingest produced it (also the dedup tie-breakers)."""
CSV_ENCODINGS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "latin-1": "ISO-8859-1"}


class SchemaDriftError(ValueError):
    """The raw schema differs from a `schema_drift: freeze` contract (or cannot be evolved)."""


class RawCountMismatchError(ValueError):
    """Spark read a different number of rows than the manifests record."""


@dataclass(frozen=True)
class RawInput:
    manifest: RawManifest
    paths: tuple[str, ...]
    """Spark-readable locations of `manifest.files`, same order."""


@dataclass(frozen=True)
class StandardizeRequest:
    dataset: str
    run_id: str
    config: PipelineConfig
    inputs: tuple[RawInput, ...]
    curated_root: str
    """Root holding `<dataset>/` (and the rates dataset): `s3://bucket/curated/` or a local directory."""
    quarantine_root: str


@dataclass
class StandardizeResult:
    dataset: str
    run_id: str
    raw_rows: int
    curated_rows: int
    quarantined_rows: int
    duplicate_rows: int
    partitions: list[str]
    curated_columns: list[tuple[str, str]]
    """(name, Hive type) of the curated files, partition column excluded."""
    quarantine_columns: list[tuple[str, str]]
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
            "partitions": self.partitions,
            "evolved_columns": self.evolved_columns,
            "status": self.status,
        }


def configure_session(spark: SparkSession) -> None:
    """Session settings the transforms rely on (set at run time so Glue and local behave the same)."""
    conf = spark.conf
    conf.set("spark.sql.session.timeZone", "UTC")
    # Unparseable dates become null (a cast failure) instead of raising SparkUpgradeException.
    conf.set("spark.sql.legacy.timeParserPolicy", "CORRECTED")
    conf.set("spark.sql.ansi.enabled", "false")
    conf.set("spark.sql.parquet.compression.codec", "zstd")
    # INT96 is Spark's legacy default; Athena and DuckDB both read int64 micros.
    conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    spark.sparkContext._jsc.hadoopConfiguration().set("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")


def dataset_path(root: str, dataset: str) -> str:
    return f"{root.rstrip('/')}/{dataset}/"


# ---------------------------------------------------------------- read


def _read_one(spark: SparkSession, item: RawInput, config_source: Any) -> DataFrame:
    manifest = item.manifest
    paths = list(item.paths)
    options = dict(manifest.source or {})
    if manifest.format == "csv.gz":
        defaults = config_source if isinstance(config_source, CsvSource) else CsvSource(kind="csv", location="landing/")
        encoding = str(options.get("encoding") or defaults.encoding)
        quote = str(options.get("quotechar") or defaults.quotechar)
        # Column names come from the header itself (ingestion keeps CSV byte-exact, so the manifest's schema may
        # not spell them the same way); every further part's header is checked against the first one's
        # (enforceSchema off), so a part with different columns fails instead of shifting values.
        reader = spark.read.option("enforceSchema", False)
        frame = (
            reader.option("header", True)
            .option("inferSchema", False)
            .option("encoding", CSV_ENCODINGS.get(encoding, encoding))
            .option("sep", str(options.get("delimiter") or defaults.delimiter))
            .option("quote", quote)
            .option("escape", quote)  # RFC 4180: a quote inside a quoted field is doubled
            .option("multiLine", True)  # quoted fields may hold newlines
            .option("mode", "PERMISSIVE")
            .csv(paths)
        )
        # A UTF-8 byte-order mark sticks to the first header name.
        return frame.toDF(*[c.lstrip("\ufeff").strip() for c in frame.columns])
    if manifest.format == "jsonl.gz":
        if manifest.schema_:
            schema = StructType([StructField(f.name, StringType()) for f in manifest.schema_])
            return spark.read.schema(schema).json(paths)
        return spark.read.option("primitivesAsString", True).json(paths)
    if manifest.format == "parquet":
        return spark.read.parquet(*paths)  # the parts of one extract share one schema
    raise ValueError(f"manifest of {manifest.dataset}/{manifest.run_id}: unknown format {manifest.format!r}")


def read_raw(spark: SparkSession, inputs: tuple[RawInput, ...], config_source: Any) -> DataFrame | None:
    frames = []
    for item in inputs:
        if not item.paths:
            continue
        frame = _read_one(spark, item, config_source)
        created = item.manifest.created_at
        frames.append(
            frame.withColumn("_ingest_date", F.lit(item.manifest.ingest_date))
            .withColumn("_ingested_at", F.lit(created if created.tzinfo else created.replace(tzinfo=UTC)))
            .withColumn("_run_id", F.lit(item.manifest.run_id))
        )
    if not frames:
        return None
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame, allowMissingColumns=True)
    return out.withColumn("_source_file", F.input_file_name()).withColumn("_row", F.monotonically_increasing_id())


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
    contract = request.config.datasets[request.dataset].contract
    if contract.currency is None:
        return None
    path = dataset_path(request.curated_root, contract.currency.rates_dataset)
    if not HadoopFs(spark, path).has_data(path):
        logger.warning("no curated %s at %s: every foreign-currency row is quarantined", path, path)
        return None
    return spark.read.option("basePath", path).parquet(path)


# ---------------------------------------------------------------- merge


def _ordered_curated_columns(contract: Contract, frame_columns: list[str], reporting_currency: str) -> list[str]:
    partition = contract.partition_column
    first = [c.name for c in contract.columns if c.name != partition]
    converted = [name for name, _ in converted_columns(contract)]
    known = {*first, *converted, *META_COLUMNS, partition}
    evolved = sorted(c for c in frame_columns if c not in known and not c.startswith("_"))
    return [*first, *evolved, *converted, *META_COLUMNS, partition]


def _swap_partitions(fs: HadoopFs, live_root: str, staging_root: str, partition: str, days: list[str]) -> None:
    """Publish staged partitions: move the new files in, then delete the files that were there before.

    Spark cannot overwrite a path it reads from, so the merge result is fully written to a staging prefix
    first. The swap never leaves a partition empty: until the old files are gone a reader can see both
    versions, and a re-run after a crash at that point reads both and keeps one row per key again.
    """
    for day in days:
        live = f"{live_root}{partition}={day}"
        staged = f"{staging_root}{partition}={day}"
        old = fs.files(live)
        new = fs.files(staged)
        if new:
            fs.mkdirs(live)
        for path in new:
            fs.move(path, f"{live}/{path.rsplit('/', 1)[1]}")
        for path in old:
            fs.delete(path)
        if not new and fs.exists(live):
            fs.delete(live, recursive=True)
    fs.delete(staging_root, recursive=True)


def standardize(spark: SparkSession, request: StandardizeRequest) -> StandardizeResult:
    config = request.config
    if request.dataset not in config.datasets:
        raise ValueError(f"dataset {request.dataset!r} is not in the pipeline config ({', '.join(config.datasets)})")
    dataset = config.datasets[request.dataset]
    contract = dataset.contract
    partition = contract.partition_column
    live_root = dataset_path(request.curated_root, request.dataset)
    staging_root = f"{request.curated_root.rstrip('/')}/_staging/{request.dataset}/run_id={request.run_id}/"
    quarantine_path = f"{dataset_path(request.quarantine_root, request.dataset)}run_id={request.run_id}"
    fs = HadoopFs(spark, live_root)
    rc = config.reporting_currency

    raw = read_raw(spark, request.inputs, dataset.source)
    existing = None
    if fs.has_data(live_root):
        existing = spark.read.option("mergeSchema", True).option("basePath", live_root).parquet(live_root)
        existing = existing.withColumn(partition, F.col(partition).cast("date"))

    if raw is None:
        columns = _static_columns(contract, rc, existing)
        return StandardizeResult(
            request.dataset, request.run_id, 0, 0, 0, 0, [], columns, _quarantine_columns(contract, [])
        )

    plan = plan_columns(request.dataset, contract, raw.columns)
    # Cached: the as-of rate lookup reads the typed rows twice, and counting, quarantine and merge read the result.
    typed = type_rows(raw, request, plan).persist(StorageLevel.MEMORY_AND_DISK)
    checked = typed
    if dataset.contract.currency is not None:
        checked = convert_currency(typed, request, read_rates(spark, request)).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        return _finish(spark, request, plan, checked, existing, fs, live_root, staging_root, quarantine_path)
    finally:
        checked.unpersist()
        typed.unpersist()


def _finish(
    spark: SparkSession,
    request: StandardizeRequest,
    plan: ColumnPlan,
    typed: DataFrame,
    existing: DataFrame | None,
    fs: HadoopFs,
    live_root: str,
    staging_root: str,
    quarantine_path: str,
) -> StandardizeResult:
    config = request.config
    contract = config.datasets[request.dataset].contract
    partition = contract.partition_column
    rc = config.reporting_currency

    # One pass for the counts and the partition dates of the accepted rows.
    bad = F.size("_reasons") > 0
    groups = typed.groupBy(bad.alias("bad"), F.when(~bad, F.col(partition)).alias("day")).count().collect()
    tally = {True: 0, False: 0}
    touched_rows = []
    for row in groups:
        tally[bool(row["bad"])] += int(row["count"])
        if not row["bad"]:
            touched_rows.append(row["day"])
    raw_rows = tally[True] + tally[False]
    expected_rows = sum(item.manifest.rows for item in request.inputs)
    if raw_rows != expected_rows:
        files = ", ".join(p for item in request.inputs for p in item.paths)
        raise RawCountMismatchError(
            f"dataset {request.dataset}: read {raw_rows} rows but the manifests record {expected_rows} ({files})"
        )
    quarantined_rows = tally[True]

    # Quarantine: original values as strings, the reasons, and where the row came from.
    data_names = [c.name for c in contract.columns] + list(plan.evolved)
    quarantine = typed.where(F.size("_reasons") > 0).select(
        *[F.col(f"_raw_{n}").cast("string").alias(n) for n in data_names],
        F.col("_reasons").alias("reasons"),
        F.concat_ws("; ", F.transform("_reasons", lambda r: F.concat(r["column"], F.lit(":"), r["rule"]))).alias(
            "reason"
        ),
        F.col("_source_file").alias("source_file"),
        F.col("_ingest_date").alias("ingest_date"),
    )
    if fs.exists(quarantine_path):
        fs.delete(quarantine_path, recursive=True)  # a re-run replaces its own quarantine, never adds to it
    if quarantined_rows:
        quarantine.coalesce(1).write.mode("overwrite").parquet(quarantine_path)

    # Merge the accepted rows with the curated partitions they touch.
    curated_cols = [c for c in typed.columns if not c.startswith("_") or c in META_COLUMNS]
    valid = (
        typed.where(F.size("_reasons") == 0)
        .select(*curated_cols, "_source_file", "_row")
        .withColumn("_new", F.lit(True))
    )
    key = list(contract.key)
    if existing is not None:
        moved = existing.select(*key, partition).join(valid.select(*key).distinct(), key, "left_semi")
        touched_rows += [r[0] for r in moved.select(partition).distinct().collect()]
    touched = sorted({d.isoformat() for d in touched_rows if d is not None})

    curated_rows = 0
    duplicate_rows = 0  # no touched partition means no accepted row (key and partition columns are required)
    columns_seen = list(valid.columns)
    if touched:
        merged = valid
        if existing is not None:
            old = (
                existing.where(F.col(partition).isin([date.fromisoformat(d) for d in touched]))
                .withColumn("_source_file", F.lit(None).cast("string"))
                .withColumn("_row", F.lit(None).cast("bigint"))
                .withColumn("_new", F.lit(False))
            )
            merged = valid.unionByName(old, allowMissingColumns=True)
            columns_seen = list(merged.columns)
        order: list[SparkColumn] = []
        if contract.updated_at:
            order.append(F.col(contract.updated_at).desc_nulls_last())
        order += [
            F.col("_ingested_at").desc_nulls_last(),
            F.col("_new").desc(),  # re-running a run replaces its own earlier copy
            F.col("_source_file").desc_nulls_last(),
            F.col("_row").desc_nulls_last(),
        ]
        ranked = merged.withColumn("_rank", F.row_number().over(Window.partitionBy(*key).orderBy(*order)))
        ranked = ranked.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            wins = {bool(r[0]): int(r[1]) for r in ranked.where("_new").groupBy(F.col("_rank") == 1).count().collect()}
            curated_rows, duplicate_rows = wins.get(True, 0), wins.get(False, 0)
            ordered = _ordered_curated_columns(contract, columns_seen, rc)
            output = ranked.where(F.col("_rank") == 1).select(*ordered)
            if fs.exists(staging_root):
                fs.delete(staging_root, recursive=True)
            (
                output.repartition(F.col(partition))
                .write.mode("overwrite")
                .partitionBy(partition)
                .option("compression", "zstd")
                .parquet(staging_root)
            )
            curated_schema = [(f.name, f.dataType.simpleString()) for f in output.schema.fields if f.name != partition]
        finally:
            ranked.unpersist()
        _swap_partitions(fs, live_root, staging_root, partition, touched)
    else:
        curated_schema = _static_columns(contract, rc, existing)

    result = StandardizeResult(
        dataset=request.dataset,
        run_id=request.run_id,
        raw_rows=raw_rows,
        curated_rows=curated_rows,
        quarantined_rows=quarantined_rows,
        duplicate_rows=duplicate_rows,
        partitions=touched,
        curated_columns=_merge_columns(curated_schema, _static_columns(contract, rc, existing)),
        quarantine_columns=_quarantine_columns(contract, list(plan.evolved)),
        evolved_columns=sorted(plan.evolved),
    )
    if result.raw_rows != result.curated_rows + result.quarantined_rows + result.duplicate_rows:
        raise AssertionError(f"conservation violated for {request.dataset}: {result.record()}")
    logger.info("standardized %s", result.record())
    return result


def _static_columns(contract: Contract, reporting_currency: str, existing: DataFrame | None) -> list[tuple[str, str]]:
    """Curated columns known without new data: the contract's, the converted amounts, lineage, and any
    evolved columns already in curated files."""
    cols = [(c.name, "int" if c.type == "integer" else c.type) for c in contract.columns]
    partition = contract.partition_column
    cols = [c for c in cols if c[0] != partition]
    cols += converted_columns(contract)
    cols += [("_ingest_date", "date"), ("_ingested_at", "timestamp"), ("_run_id", "string")]
    if existing is not None:
        cols = _merge_columns(
            cols, [(f.name, f.dataType.simpleString()) for f in existing.schema.fields if f.name != partition]
        )
    return cols


def _merge_columns(first: list[tuple[str, str]], second: list[tuple[str, str]]) -> list[tuple[str, str]]:
    names = {n for n, _ in first}
    return [*first, *[(n, t) for n, t in second if n not in names]]


def _quarantine_columns(contract: Contract, evolved: list[str]) -> list[tuple[str, str]]:
    """Quarantine files: original values as strings, the reasons, and where the row came from."""
    return [
        *[(c.name, "string") for c in contract.columns],
        *[(n, "string") for n in evolved],
        ("reasons", f"array<{REASON_TYPE}>"),
        ("reason", "string"),
        ("source_file", "string"),
        ("ingest_date", "date"),
    ]
