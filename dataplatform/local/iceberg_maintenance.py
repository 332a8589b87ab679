"""Athena's Iceberg maintenance statements, run locally as the equivalent Spark procedures (DuckDB, the local
Athena engine, cannot write Iceberg). The local dispatcher routes them here (docs/local-runner.md).

- `OPTIMIZE <t> REWRITE DATA USING BIN_PACK [WHERE <partition predicate>]` -> `rewrite_data_files` with Athena's
  thresholds (`optimize_rewrite_data_file_threshold`, `optimize_rewrite_delete_file_threshold`, defaults 5 and 2),
  then `rewrite_position_delete_files` (drops the delete files the rewrite made dangling).
- `VACUUM <t>` -> `expire_snapshots` (older than `vacuum_max_snapshot_age_seconds`, default 432000, keeping
  `vacuum_min_snapshots_to_keep`, default 1) and `remove_orphan_files` older than the same age.
Athena's defaults and property names: https://docs.aws.amazon.com/athena/latest/ug/querying-iceberg-table-properties.html
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from pyspark.sql import SparkSession

from dataplatform.transform.iceberg import CATALOG, procedure_table, table_identifier

_TABLE = r"(?P<table>[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)?|\"[^\"]+\"(?:\.\"[^\"]+\")?)"
OPTIMIZE = re.compile(
    rf"^\s*OPTIMIZE\s+{_TABLE}\s+REWRITE\s+DATA\s+USING\s+BIN_PACK(?:\s+WHERE\s+(?P<where>.+?))?\s*;?\s*$", re.I | re.S
)
VACUUM = re.compile(rf"^\s*VACUUM\s+{_TABLE}\s*;?\s*$", re.I | re.S)
ATHENA_DEFAULTS = {
    "optimize_rewrite_data_file_threshold": "5",
    "optimize_rewrite_delete_file_threshold": "2",
    "vacuum_max_snapshot_age_seconds": "432000",
    "vacuum_min_snapshots_to_keep": "1",
}


@dataclass(frozen=True)
class MaintenanceStatement:
    kind: Literal["optimize", "vacuum"]
    database: str
    table: str
    where: str | None = None


def parse_maintenance(sql: str, database: str | None) -> MaintenanceStatement | None:
    """The OPTIMIZE or VACUUM statement in `sql` (None for any other statement); `database` qualifies a bare name."""
    match = OPTIMIZE.match(sql) or VACUUM.match(sql)
    if match is None:
        return None
    parts = [p.strip('"') for p in re.findall(r'"[^"]+"|[^.]+', match.group("table"))]
    if len(parts) == 1:
        if not database:
            raise ValueError(f"{sql.strip()}: the table needs a database (qualify it or set the query's database)")
        parts = [database, *parts]
    kind: Literal["optimize", "vacuum"] = "optimize" if match.re is OPTIMIZE else "vacuum"
    where = match.groupdict().get("where")
    return MaintenanceStatement(kind, parts[0], parts[1], where.strip() if where else None)


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def run_maintenance(spark: SparkSession, statement: MaintenanceStatement, now: datetime | None = None) -> None:
    """Run the statement's Spark procedures on the table, with the table's Athena properties (or their defaults)."""
    ident = table_identifier(statement.database, statement.table)
    properties = {
        **ATHENA_DEFAULTS,
        **{r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES {ident}").collect()},
    }
    table = _literal(procedure_table(statement.database, statement.table))
    system = f"{CATALOG}.system"
    if statement.kind == "optimize":
        options = (
            f"map('min-input-files', {_literal(properties['optimize_rewrite_data_file_threshold'])}, "
            f"'delete-file-threshold', {_literal(properties['optimize_rewrite_delete_file_threshold'])})"
        )
        where = f", where => {_literal(statement.where)}" if statement.where else ""
        spark.sql(f"CALL {system}.rewrite_data_files(table => {table}, options => {options}{where})").collect()
        spark.sql(
            f"CALL {system}.rewrite_position_delete_files(table => {table}, options => map('rewrite-all', 'true'))"
        ).collect()
        return
    age = timedelta(seconds=int(properties["vacuum_max_snapshot_age_seconds"]))
    cutoff = ((now or datetime.now(UTC)) - age).strftime("%Y-%m-%d %H:%M:%S")
    keep = int(properties["vacuum_min_snapshots_to_keep"])
    spark.sql(
        f"CALL {system}.expire_snapshots(table => {table}, older_than => TIMESTAMP '{cutoff}', retain_last => {keep})"
    ).collect()
    spark.sql(f"CALL {system}.remove_orphan_files(table => {table}, older_than => TIMESTAMP '{cutoff}')").collect()
