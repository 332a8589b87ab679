"""The audit's view of a run: one view per curated and quarantine table in `<project>_staged_curated`.

A dataset the run staged reads its table `FOR VERSION AS OF <staged snapshot id>` (the run's branch head, from
runs/<run_id>/<dataset>/standardize.json); every other table reads its published main. The marts and assertions
are rendered a second time against the staged databases (`dataplatform.naming.staged_database_names`), so the
assertions see exactly what the publish would make visible, before anything is visible.

Athena documents `FOR VERSION AS OF <bigint snapshot id>`; that it accepts a snapshot reachable only from a
branch is not verified on AWS (docs/contracts.md, "Write-audit-publish", says what to do if it does not).
"""

from __future__ import annotations

from typing import Any

from dataplatform.config import PipelineConfig
from dataplatform.layout import Lake
from dataplatform.naming import STAGED_ZONES, glue_database, quarantine_table, staged_database
from dataplatform.workflow.audit import read_json


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def staged_view(source_db: str, staged_db: str, table: str, snapshot_id: int | None) -> dict[str, str]:
    """One workflow Athena item `{name, database, sql}`: the staged view of `source_db.table`."""
    version = f" FOR VERSION AS OF {int(snapshot_id)}" if snapshot_id is not None else ""
    sql = (
        f"CREATE OR REPLACE VIEW {_quote(staged_db)}.{_quote(table)} AS "
        f"SELECT * FROM {_quote(source_db)}.{_quote(table)}{version}"
    )
    return {"name": f"staged_{table}", "database": staged_db, "sql": sql}


def staged_view_statements(
    config: PipelineConfig, lake: Lake, s3: Any, run_id: str, datasets: list[str], extra_tables: list[str]
) -> list[dict[str, str]]:
    """The views of every dataset of the config (run or not), then of `extra_tables`: other tables the SQL reads
    (`curated.<t>` or `marts.<t>`, created by sql/ddl/ files), viewed as published. Stable order."""
    curated = config.glue_database("curated")
    staged = staged_database(config.project, "curated")
    statements = []
    for dataset in config.datasets:
        record = read_json(s3, lake.curated_bucket, lake.run_step_key(run_id, dataset, "standardize")) or {}
        if dataset in datasets and record.get("status") != "SUCCEEDED":
            raise ValueError(f"{dataset}: run {run_id} has no successful standardize record to audit")
        in_run = dataset in datasets
        statements.append(staged_view(curated, staged, dataset, record.get("staged_snapshot_id") if in_run else None))
        quarantine = record.get("quarantine_staged_snapshot_id") if in_run else None
        statements.append(staged_view(curated, staged, quarantine_table(dataset), quarantine))
    for logical in extra_tables:
        zone, _, table = logical.partition(".")
        if zone not in STAGED_ZONES or not table:
            raise ValueError(f"extra table {logical!r}: expected curated.<table> or marts.<table>")
        statements.append(
            staged_view(glue_database(config.project, zone), staged_database(config.project, zone), table, None)
        )
    return statements
