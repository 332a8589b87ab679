"""Reading a run's raw parts as Spark DataFrames, exactly as the manifests list them.

The parts are addressed as `s3://<raw bucket>/<key>`: on Glue 5.1 and locally alike, Hadoop's S3A connector reads
`s3://` (locally `fs.s3.impl` is S3A too, against moto; dataplatform/local/spark_session.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from dataplatform.config.models import CsvSource
from dataplatform.manifest import RawManifest

CSV_ENCODINGS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "latin-1": "ISO-8859-1"}


@dataclass(frozen=True)
class RawInput:
    manifest: RawManifest
    paths: tuple[str, ...]
    """Spark-readable locations of `manifest.files`, same order."""


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
