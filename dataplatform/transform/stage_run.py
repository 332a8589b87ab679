"""Stage one run of one dataset: its accepted rows MERGEd on the key and its quarantined rows, on the run's branch
of the curated and quarantine Iceberg tables (created on first use). Main is not touched: the publish job moves it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession

from dataplatform.config.models import Contract
from dataplatform.transform import curated_tables as tables
from dataplatform.transform.curated_tables import IcebergTable
from dataplatform.transform.iceberg import partition_spec

QUARANTINE_PARTITION = partition_spec("ingest_date", "month")
"""Quarantine rows keep their original text, so they are partitioned by ingest date (one partition a month)."""


@dataclass(frozen=True)
class StagedTable:
    """Where a run left one table: its branch (None: nothing staged), the branch head, and main when staged."""

    branch: str | None
    staged_snapshot_id: int | None
    main_snapshot_id: int | None


@dataclass(frozen=True)
class StagedRun:
    curated: StagedTable
    quarantine: StagedTable
    curated_rows: int
    """Rows the MERGE wrote (inserted or updated); a stored newer version of a key keeps its row."""


@contextmanager
def _temp_view(frame: DataFrame) -> Iterator[str]:
    name = f"_stage_{uuid.uuid4().hex}"  # unique: two jobs may share one session
    frame.createOrReplaceTempView(name)
    try:
        yield name
    finally:
        frame.sparkSession.catalog.dropTempView(name)


def _published(spark: SparkSession, table: IcebergTable) -> StagedTable:
    return StagedTable(None, None, tables.refs(spark, table).get("main"))


def stage_run(
    spark: SparkSession,
    *,
    curated: IcebergTable,
    quarantine: IcebergTable,
    contract: Contract,
    run_id: str,
    branch: str,
    curated_columns: Sequence[tuple[str, str]],
    quarantine_columns: Sequence[tuple[str, str]],
    rows: tuple[DataFrame | None, DataFrame | None] | None,
) -> StagedRun:
    """Create or evolve both tables; with `rows` = (accepted, quarantined), stage them on `branch` (None: that
    kind of row is absent). `accepted` holds one row per key. Staging replaces this run's earlier quarantine rows,
    even when it has none now. Without `rows` (no raw data) nothing is staged."""
    tables.create_if_missing(
        spark, curated, curated_columns, partition_spec(contract.partition_column, contract.partition_transform)
    )
    tables.create_if_missing(spark, quarantine, quarantine_columns, QUARANTINE_PARTITION)
    if rows is None:
        return StagedRun(_published(spark, curated), _published(spark, quarantine), 0)
    accepted, quarantined = rows
    tables.add_missing_columns(spark, curated, curated_columns)
    tables.add_missing_columns(spark, quarantine, quarantine_columns)

    quarantine_main = tables.stage_branch(spark, quarantine, branch)
    tables.delete_run_rows(spark, quarantine, branch, run_id)
    if quarantined is not None:
        with _temp_view(tables.aligned(spark, quarantine, quarantined)) as view:
            tables.insert_rows(spark, quarantine, branch, view)

    curated_main = tables.stage_branch(spark, curated, branch)
    before = tables.refs(spark, curated)[branch]
    if accepted is not None:
        with _temp_view(tables.aligned(spark, curated, accepted)) as view:
            tables.merge_on_key(spark, curated, branch, view, contract.key, contract.updated_at)
    staged = tables.refs(spark, curated)[branch]
    written = tables.added_records(spark, curated, staged) if staged != before else 0
    return StagedRun(
        curated=StagedTable(branch, staged, curated_main),
        quarantine=StagedTable(branch, tables.refs(spark, quarantine)[branch], quarantine_main),
        curated_rows=written,
    )
