"""Iceberg on Glue 5.1: the one place for the curated zone's Spark catalog settings and table properties.

Glue gets the catalog settings as job arguments, the way AWS documents it (`--datalake-formats iceberg` plus a
`--conf` chain; https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-format-iceberg.html):
`glue_job_arguments`, used by infra/ for every job's default arguments. The local session
(dataplatform/local/spark_session.py) starts from the same `catalog_conf` and adds only endpoints, jars and
credentials. Glue 5.1 runs Iceberg 1.10.0 (the version build-support/spark-jars/pom.xml pins for local Spark).
"""

from __future__ import annotations

from typing import Literal

CATALOG = "glue_catalog"
"""The Spark catalog name every curated table is addressed through: `glue_catalog.<database>.<table>`."""
EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
"""MERGE INTO, branches (`CREATE BRANCH`, `t.branch_<name>`) and the `CALL ... system.*` procedures."""

SNAPSHOT_RETENTION_DAYS = 7
"""Snapshots (time travel, a failed run's staged data) survive at least this long after they stop being current."""

TABLE_PROPERTIES: dict[str, str] = {
    # Athena (Iceberg 1.4.2) reads format v2 only; Glue 5.1 could write v3.
    "format-version": "2",
    # Merge-on-read: a MERGE writes the new rows and position deletes instead of rewriting the files it touches
    # (what Athena itself writes); the weekly OPTIMIZE folds the deletes back in.
    "write.merge.mode": "merge-on-read",
    "write.update.mode": "merge-on-read",
    "write.delete.mode": "merge-on-read",
    "write.parquet.compression-codec": "zstd",
    # Snapshot expiry: Spark's expire_snapshots reads Iceberg's own keys, Athena's VACUUM its `vacuum_*` keys.
    "history.expire.max-snapshot-age-ms": str(SNAPSHOT_RETENTION_DAYS * 86_400_000),
    "history.expire.min-snapshots-to-keep": "1",
    "vacuum_max_snapshot_age_seconds": str(SNAPSHOT_RETENTION_DAYS * 86_400),
    "vacuum_min_snapshots_to_keep": "1",
    "vacuum_max_metadata_files_to_keep": "100",
}

PARTITION_TRANSFORMS: dict[Literal["day", "month"], str] = {"day": "days", "month": "months"}


def catalog_conf(warehouse: str) -> dict[str, str]:
    """The Spark settings of the Glue Data Catalog as an Iceberg catalog, with S3FileIO for data and metadata.

    `warehouse` is only the fallback location: the job creates every table with an explicit LOCATION.
    """
    catalog = f"spark.sql.catalog.{CATALOG}"
    return {
        "spark.sql.extensions": EXTENSIONS,
        catalog: "org.apache.iceberg.spark.SparkCatalog",
        f"{catalog}.catalog-impl": "org.apache.iceberg.aws.glue.GlueCatalog",
        f"{catalog}.io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
        f"{catalog}.warehouse": warehouse,
        # Tables are loaded afresh for every statement (the default caches them for 30 s): a publish compares the
        # refs it reads with the run record, and another job may have committed meanwhile.
        f"{catalog}.cache-enabled": "false",
    }


def glue_job_arguments(warehouse: str) -> dict[str, str]:
    """Default arguments that give a Glue 5.1 job the Iceberg runtime and `catalog_conf(warehouse)`.

    Glue takes several settings in one `--conf` value, chained with ` --conf ` (AWS's documented form).
    """
    conf = " --conf ".join(f"{key}={value}" for key, value in catalog_conf(warehouse).items())
    return {"--datalake-formats": "iceberg", "--conf": conf}


def table_identifier(database: str, table: str, branch: str | None = None) -> str:
    """`glue_catalog.<database>.<table>` quoted for Spark SQL; with a branch, Iceberg's `.branch_<name>` form."""
    parts = [CATALOG, database, table, *([f"branch_{branch}"] if branch else [])]
    return ".".join(f"`{part}`" for part in parts)


def procedure_table(database: str, table: str) -> str:
    """How the `CALL glue_catalog.system.*` procedures name a table: `<database>.<table>` (a string argument)."""
    return f"{database}.{table}"


def partition_spec(column: str, transform: Literal["day", "month"]) -> str:
    """Hidden partitioning clause of a date column: `days(col)` or `months(col)`."""
    return f"{PARTITION_TRANSFORMS[transform]}(`{column}`)"
