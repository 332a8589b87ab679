"""The weekly maintenance of the curated Iceberg tables, as Athena statements (the maintenance state machine runs
them one by one; the local runner maps them to Spark's Iceberg procedures, dataplatform/local/iceberg_maintenance.py).

Per curated and quarantine table: `OPTIMIZE <db>.<t> REWRITE DATA USING BIN_PACK` (small files and the position
deletes of merge-on-read MERGEs rewritten into larger files), then `VACUUM <db>.<t>` (snapshots older than the
table's `vacuum_max_snapshot_age_seconds` expired and orphan files removed; properties set when the job creates
the table, dataplatform/transform/iceberg.py). Both commit to main, so they must not overlap a run that is
staging: the run's publish would then fail ("main moved") and the run has to be started again.
"""

from __future__ import annotations

from dataplatform.config import PipelineConfig
from dataplatform.naming import quarantine_table


def maintained_tables(config: PipelineConfig) -> list[str]:
    """Every Iceberg table the pipeline writes: each dataset's curated table and its quarantine table."""
    return [table for dataset in config.datasets for table in (dataset, quarantine_table(dataset))]


def maintenance_statements(config: PipelineConfig) -> list[dict[str, str]]:
    """Workflow Athena items `{name, database, sql}`, in run order."""
    database = config.glue_database("curated")
    statements = []
    for table in maintained_tables(config):
        qualified = f"{database}.{table}"  # dataset names are plain identifiers: no quoting needed
        statements.append(
            {
                "name": f"optimize_{table}",
                "database": database,
                "sql": f"OPTIMIZE {qualified} REWRITE DATA USING BIN_PACK",
            }
        )
        statements.append({"name": f"vacuum_{table}", "database": database, "sql": f"VACUUM {qualified}"})
    return statements
