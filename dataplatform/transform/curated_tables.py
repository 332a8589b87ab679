"""The curated zone's Iceberg tables: create, evolve, stage a run on a branch, merge on the key, publish.

Write-audit-publish, per run and table (docs/contracts.md, "Curated and quarantine tables"):
1. `stage_branch`: `CREATE OR REPLACE BRANCH run_<run>` at main's current snapshot (a re-run replaces its branch);
2. the run's writes go to that branch only (`merge_on_key`, `delete_run_rows`, `insert_rows`): readers of main
   see nothing yet;
3. the audit reads the branch head by snapshot id; `fast_forward` moves main to it, `drop_branch` removes it.

Tables are created by the job (`create_if_missing`), not declared by the stack: a CloudFormation update of an
Iceberg `AWS::Glue::Table` strips `table_type`/`metadata_location` (docs/contracts.md says why).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dataplatform.transform.iceberg import CATALOG, TABLE_PROPERTIES, procedure_table, table_identifier

COMMIT_ATTEMPTS = 4
"""Attempts of a metadata commit that lost to another job's commit (Iceberg's own default for data commits)."""


class MainMovedError(RuntimeError):
    """A table's main branch changed since the run staged: publishing would drop the other commit."""


class StagedBranchError(RuntimeError):
    """The run's branch does not hold what the run recorded (replaced by another run with the same branch)."""


@dataclass(frozen=True)
class IcebergTable:
    database: str
    name: str
    location: str
    """`s3://<bucket>/<prefix>/<table>/`: data under `data/`, metadata under `metadata/`."""

    def ident(self, branch: str | None = None) -> str:
        return table_identifier(self.database, self.name, branch)

    def __str__(self) -> str:
        return f"{self.database}.{self.name}"


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def table_exists(spark: SparkSession, table: IcebergTable) -> bool:
    return bool(spark.catalog.tableExists(f"{CATALOG}.{table.database}.{table.name}"))


def create_if_missing(
    spark: SparkSession, table: IcebergTable, columns: Sequence[tuple[str, str]], partitioned_by: str
) -> None:
    """`CREATE TABLE IF NOT EXISTS` with the given (name, Spark SQL type) columns and hidden partitioning."""
    column_sql = ", ".join(f"`{name}` {data_type}" for name, data_type in columns)
    properties = ", ".join(f"{_literal(k)}={_literal(v)}" for k, v in TABLE_PROPERTIES.items())
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS {table.ident()} ({column_sql}) USING iceberg "
        f"PARTITIONED BY ({partitioned_by}) LOCATION {_literal(table.location.rstrip('/'))} "
        f"TBLPROPERTIES ({properties})"
    )


def add_missing_columns(spark: SparkSession, table: IcebergTable, columns: Sequence[tuple[str, str]]) -> list[str]:
    """Add the columns the table lacks (schema_drift: evolve); a column is never dropped or retyped.

    Iceberg's schema is table-wide: the new column shows on main too (NULL in every published row) before the
    run's data is published.
    """
    present = {field.name for field in spark.table(table.ident()).schema.fields}
    added = [(name, data_type) for name, data_type in columns if name not in present]
    for name, data_type in added:
        _commit_with_retry(spark, f"ALTER TABLE {table.ident()} ADD COLUMN `{name}` {data_type}")
    return [name for name, _ in added]


def aligned(spark: SparkSession, table: IcebergTable, frame: DataFrame) -> DataFrame:
    """`frame` with exactly the table's columns in the table's order; columns it lacks are NULL."""
    target = spark.table(table.ident()).schema.fields
    have = set(frame.columns)
    return frame.select(
        *[
            F.col(f"`{field.name}`") if field.name in have else F.lit(None).cast(field.dataType).alias(field.name)
            for field in target
        ]
    )


def refs(spark: SparkSession, table: IcebergTable) -> dict[str, int]:
    """Branch and tag name -> snapshot id (`main` is absent until the first publish)."""
    return {row["name"]: int(row["snapshot_id"]) for row in spark.sql(f"SELECT * FROM {table.ident()}.refs").collect()}


def _commit_with_retry(spark: SparkSession, statement: str) -> None:
    """Run a metadata-only DDL statement, again on a commit conflict.

    Iceberg 1.10 retries data commits (MERGE, INSERT, DELETE) itself, but not `CREATE BRANCH` or `ADD COLUMN`:
    their operation keeps the metadata it started from and fails with "Table metadata refresh is required" when
    another job committed to the table in between. The statement loads the table again (the catalog caches none).
    """
    for attempt in range(COMMIT_ATTEMPTS):
        try:
            spark.sql(statement)
            return
        except Exception as exc:
            if "CommitFailedException" not in str(exc) or attempt == COMMIT_ATTEMPTS - 1:
                raise
            time.sleep(0.1 * 2**attempt)


def stage_branch(spark: SparkSession, table: IcebergTable, branch: str) -> int | None:
    """Point `branch` at main's current snapshot (replacing an earlier attempt's branch); returns that snapshot
    (None when main has none yet: Iceberg then starts the branch on an empty snapshot)."""
    current = refs(spark, table)
    main = current.get("main")
    if main is None and branch in current:
        # An earlier attempt of this run staged on a table nothing was published to yet: Iceberg cannot replace a
        # branch with main's (absent) snapshot, so the old branch goes and the new one starts empty again.
        drop_branch(spark, table, branch)
    _commit_with_retry(spark, f"ALTER TABLE {table.ident()} CREATE OR REPLACE BRANCH `{branch}`")
    return main


def merge_on_key(
    spark: SparkSession, table: IcebergTable, branch: str, view: str, key: Sequence[str], updated_at: str | None
) -> None:
    """MERGE the rows of temp view `view` (one per key) into the branch: a row replaces the stored one when it is
    newer by `updated_at` (a value beats NULL), then by `_ingested_at` (equal wins, so re-running a run rewrites
    its own rows identically); keys not stored yet are inserted. The merge joins on the key only, so an update
    that moves a row to another date partition leaves exactly one row."""
    on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in key)
    later_ingest = "s.`_ingested_at` >= t.`_ingested_at`"
    if updated_at:
        u = f"`{updated_at}`"
        newer = f"(s.{u} IS NOT NULL AND (t.{u} IS NULL OR s.{u} > t.{u})) OR (s.{u} <=> t.{u} AND {later_ingest})"
    else:
        newer = later_ingest
    spark.sql(
        f"MERGE INTO {table.ident(branch)} t USING {view} s ON {on} "
        f"WHEN MATCHED AND ({newer}) THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
    )


def delete_run_rows(spark: SparkSession, table: IcebergTable, branch: str, run_id: str) -> None:
    """Delete the branch's rows of `run_id` (a re-run of a run replaces its quarantine rows, never adds to them)."""
    spark.sql(f"DELETE FROM {table.ident(branch)} WHERE `run_id` = {_literal(run_id)}")


def insert_rows(spark: SparkSession, table: IcebergTable, branch: str, view: str) -> None:
    """Append the rows of temp view `view` (aligned to the table's columns) to the branch."""
    spark.sql(f"INSERT INTO {table.ident(branch)} SELECT * FROM {view}")


def added_records(spark: SparkSession, table: IcebergTable, snapshot_id: int) -> int:
    """Rows a snapshot wrote (for a MERGE: the rows it inserted or updated), from Iceberg's snapshot summary."""
    query = f"SELECT summary FROM {table.ident()}.snapshots WHERE snapshot_id = {int(snapshot_id)}"
    (row,) = spark.sql(query).collect()
    return int((row["summary"] or {}).get("added-records", 0))


def check_publishable(
    spark: SparkSession, table: IcebergTable, branch: str, staged: int, main_before: int | None
) -> bool:
    """Whether main must still move to `staged` (False: this run already published it).

    Raises StagedBranchError when the branch no longer holds the staged snapshot, MainMovedError when main moved
    since the run staged (a fast-forward is impossible and a MERGE snapshot cannot be cherry-picked).
    """
    current = refs(spark, table)
    main = current.get("main")
    if main == staged:
        return False
    if current.get(branch) != staged:
        raise StagedBranchError(
            f"{table}: branch {branch} is at {current.get(branch)}, not at the snapshot this run staged ({staged}); "
            "start the run again"
        )
    if main is not None and main != main_before:
        raise MainMovedError(
            f"{table}: main moved since this run staged; start the run again (main was {main_before}, is {main})"
        )
    return True


def fast_forward(spark: SparkSession, table: IcebergTable, branch: str) -> None:
    """Move main to the branch head (atomic: one catalog commit); fails if main is not an ancestor."""
    name = _literal(procedure_table(table.database, table.name))
    try:
        spark.sql(f"CALL {CATALOG}.system.fast_forward({name}, 'main', {_literal(branch)})").collect()
    except Exception as exc:
        if "Cannot fast-forward" in str(exc):
            raise MainMovedError(f"{table}: main moved since this run staged; start the run again") from exc
        raise


def drop_branch(spark: SparkSession, table: IcebergTable, branch: str) -> None:
    spark.sql(f"ALTER TABLE {table.ident()} DROP BRANCH IF EXISTS `{branch}`")
