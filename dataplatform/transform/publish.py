"""Publish a run: move main of every table the run staged to the run's branch head, then drop the branches.

Runs after the run's error-severity assertions passed over the staged snapshots (the workflow's Publish step).
Every table is checked before any main moves, so a run whose branch was replaced, or whose table's main moved
since it staged (another run published first, or a compaction), publishes nothing and fails with one line naming
the table; starting the run again stages it anew on the new main. Publishing a run twice is a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyspark.sql import SparkSession

from dataplatform.config import PipelineConfig
from dataplatform.naming import quarantine_table
from dataplatform.transform import curated_tables as tables
from dataplatform.transform.curated_tables import IcebergTable


class PublishError(RuntimeError):
    """A dataset of the run cannot be published (no successful run record)."""


@dataclass(frozen=True)
class StagedSnapshot:
    dataset: str
    table: IcebergTable
    branch: str
    staged: int
    main_before: int | None


def _tables(config: PipelineConfig, dataset: str, curated_root: str, quarantine_root: str) -> dict[str, IcebergTable]:
    database = config.glue_database("curated")
    return {
        "": IcebergTable(database, dataset, f"{curated_root.rstrip('/')}/{dataset}/"),
        "quarantine_": IcebergTable(database, quarantine_table(dataset), f"{quarantine_root.rstrip('/')}/{dataset}/"),
    }


def staged_snapshots(
    config: PipelineConfig, records: dict[str, dict[str, Any]], curated_root: str, quarantine_root: str
) -> list[StagedSnapshot]:
    """What each dataset's run record (runs/<run>/<dataset>/standardize.json) says the run staged."""
    staged: list[StagedSnapshot] = []
    for dataset, record in records.items():
        if record.get("status") != "SUCCEEDED":
            raise PublishError(f"{dataset}: no successful standardize record for this run ({record.get('status')})")
        branch = record.get("branch")
        for prefix, table in _tables(config, dataset, curated_root, quarantine_root).items():
            snapshot = record.get(f"{prefix}staged_snapshot_id")
            if branch and snapshot is not None:
                staged.append(
                    StagedSnapshot(dataset, table, branch, int(snapshot), record.get(f"{prefix}main_snapshot_id"))
                )
    return staged


def publish_run(
    spark: SparkSession,
    config: PipelineConfig,
    run_id: str,
    records: dict[str, dict[str, Any]],
    *,
    curated_root: str,
    quarantine_root: str,
) -> dict[str, dict[str, Any]]:
    """Publish every dataset in `records`; returns dataset -> publish record (docs/contracts.md)."""
    staged = staged_snapshots(config, records, curated_root, quarantine_root)
    pending = [s for s in staged if tables.check_publishable(spark, s.table, s.branch, s.staged, s.main_before)]
    for snapshot in pending:
        tables.fast_forward(spark, snapshot.table, snapshot.branch)
    for snapshot in staged:
        tables.drop_branch(spark, snapshot.table, snapshot.branch)
    published: dict[str, dict[str, Any]] = {}
    for dataset in records:
        mains = {
            prefix: tables.refs(spark, table).get("main")
            for prefix, table in _tables(config, dataset, curated_root, quarantine_root).items()
        }
        published[dataset] = {
            "dataset": dataset,
            "run_id": run_id,
            "published_snapshot_id": mains[""],
            "quarantine_published_snapshot_id": mains["quarantine_"],
        }
    return published
