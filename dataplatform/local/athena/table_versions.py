"""Time travel and Iceberg metadata tables in a statement, resolved to DuckDB relations before it is transpiled.

Athena engine v3 syntax (AWS: "Perform time travel and version travel queries", "Query Iceberg table metadata"):
- `t FOR VERSION AS OF <bigint snapshot id>`: any snapshot in the table's metadata, read with that snapshot's schema.
  A branch or tag name (`FOR VERSION AS OF 'name'`) is Trino syntax that AWS does not document for Athena: refused.
- `t FOR TIMESTAMP AS OF <timestamp [with time zone] or date>`: the snapshot that was current on main at that time
  (the snapshot log); a time without zone is UTC, Athena's session zone. The expression is evaluated by the engine,
  so `current_timestamp - interval '1' day` works.
- `"t$snapshots"`, `"t$history"`, `"t$refs"`: the Iceberg metadata tables with Trino's columns. `$files`,
  `$manifests` and `$partitions` exist on Athena too, but their columns follow the Trino release inside Athena,
  which AWS does not document: refused rather than guessed.

DuckDB knows none of this syntax. Each such reference becomes a reference to a relation in the engine's internal
schema (`__iceberg`), created once per engine connection: a lazy view over the snapshot's files, or a small table
of metadata rows. The statement is rewritten on a copy; the catalog keeps the Athena SQL of a view, so a view that
reads `FOR VERSION AS OF <id>` is resolved again, identically, when a later process maps it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any, Protocol

import duckdb
from sqlglot import exp

from dataplatform.local.athena.iceberg_tables import (
    METADATA_TABLES,
    OTHER_METADATA_TABLES,
    IcebergTables,
    is_iceberg,
)
from dataplatform.local.athena.macros import NotSupported

INTERNAL_SCHEMA = "__iceberg"
INTEGER_TYPES = ("tinyint", "smallint", "integer", "bigint", "hugeint", "utinyint", "usmallint", "uinteger", "ubigint")

Evaluate = Callable[[exp.Expression], tuple[Any, str]]
"""Runs `SELECT <expression>` through the engine: (value, DuckDB type id)."""


class Catalog(Protocol):
    def get_table(self, database: str, name: str) -> dict[str, Any] | None: ...


class TableVersionError(ValueError):
    """A versioned reference Athena rejects too (unknown table or snapshot, wrong type); the message says why."""


def is_versioned(table: exp.Table) -> bool:
    return table.args.get("version") is not None or "$" in table.name


class TableVersions:
    """Rewrites versioned and metadata table references into references to internal DuckDB relations."""

    def __init__(self, catalog: Catalog, iceberg: IcebergTables) -> None:
        self.catalog = catalog
        self.iceberg = iceberg
        self._con: duckdb.DuckDBPyConnection | None = None
        self._created: set[str] = set()

    def attach(self, con: duckdb.DuckDBPyConnection) -> None:
        """A new engine connection: relations are created again on first use."""
        self._con = con
        self._created.clear()

    def resolve(self, statement: exp.Expression, current_db: str | None, evaluate: Evaluate) -> exp.Expression:
        """The statement with every versioned or metadata reference replaced (a copy if anything changes)."""
        if not any(is_versioned(t) for t in statement.find_all(exp.Table)):
            return statement
        tree = statement.copy()
        for table in list(tree.find_all(exp.Table)):
            if is_versioned(table):
                table.replace(self._relation(table, current_db, evaluate))
        return tree

    def _relation(self, node: exp.Table, current_db: str | None, evaluate: Evaluate) -> exp.Table:
        database = node.db or current_db
        name, _, kind = node.name.partition("$")
        if not database:
            raise TableVersionError(f"{node.name}: no database given and no current database")
        glue_table = self.catalog.get_table(database, name)
        if glue_table is None:
            raise TableVersionError(f"Table '{database}.{name}' does not exist")
        version = node.args.get("version")
        if not is_iceberg(glue_table):
            what = f"the ${kind} metadata table" if kind else f"FOR {version.name} AS OF"
            raise TableVersionError(f"{database}.{name} is not an Iceberg table: {what} needs one")
        table = self.iceberg.load(database, glue_table)
        if kind:
            if version is not None:
                raise TableVersionError(f'"{node.name}" is a metadata table: it has no versions')
            relation = self._metadata_relation(table, f"{database}.{node.name}", kind)
        else:
            snapshot_id = self._snapshot_id(table, version, evaluate)
            relation = self._snapshot_relation(table, f"{database}.{name}@{snapshot_id}", snapshot_id)
        alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(node.name, quoted=True))
        return exp.Table(
            this=exp.to_identifier(relation, quoted=True),
            db=exp.to_identifier(INTERNAL_SCHEMA, quoted=True),
            alias=alias,
        )

    def _snapshot_id(self, table: Any, version: exp.Version, evaluate: Evaluate) -> int:
        value, type_id = evaluate(version.expression)
        if version.name.upper() == "VERSION":
            if type_id == "varchar":
                raise NotSupported("FOR VERSION AS OF a branch or tag name")  # AWS documents snapshot ids only
            if type_id not in INTEGER_TYPES or value is None:
                raise TableVersionError(f"Unsupported type for table version: {type_id}")
            return self.iceberg.snapshot_by_id(table, int(value))
        instant = _instant(value, type_id)
        shown = instant.isoformat().replace("+00:00", "Z")  # as Trino prints the Instant
        return self.iceberg.snapshot_as_of(table, _epoch_millis(instant), shown)

    def _snapshot_relation(self, table: Any, relation: str, snapshot_id: int) -> str:
        if relation not in self._created:
            body = self.iceberg.select_sql(table, snapshot_id)
            self._connection().execute(f"CREATE OR REPLACE VIEW {_quote(INTERNAL_SCHEMA)}.{_quote(relation)} AS {body}")
            self._created.add(relation)
        return relation

    def _metadata_relation(self, table: Any, relation: str, kind: str) -> str:
        if kind in OTHER_METADATA_TABLES:
            raise NotSupported(f"the ${kind} metadata table")
        if kind not in METADATA_TABLES:
            raise TableVersionError(f"Table '{relation}' does not exist")
        if relation not in self._created:
            rows = self.iceberg.metadata_table(table, kind)
            con = self._connection()
            con.register("__iceberg_metadata_rows", rows)
            try:
                con.execute(
                    f"CREATE OR REPLACE TABLE {_quote(INTERNAL_SCHEMA)}.{_quote(relation)} AS "
                    "SELECT * FROM __iceberg_metadata_rows"
                )
            finally:
                con.unregister("__iceberg_metadata_rows")
            self._created.add(relation)
        return relation

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise RuntimeError("TableVersions.attach(connection) was not called")
        self._con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(INTERNAL_SCHEMA)}")
        return self._con


def _instant(value: Any, type_id: str) -> datetime:
    """The point in time of a `FOR TIMESTAMP AS OF` value: a zoned timestamp as is, a plain one or a date in UTC."""
    if type_id == "timestamp with time zone" and isinstance(value, datetime):
        return value.astimezone(UTC)
    if type_id.startswith("timestamp") and isinstance(value, datetime):
        return value.replace(tzinfo=UTC)
    if type_id == "date" and isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    raise TableVersionError(f"Unsupported type for temporal table version: {type_id}")


def _epoch_millis(instant: datetime) -> int:
    """Whole milliseconds (floored), as Trino compares a timestamp(6) pointer with the snapshot log's millis."""
    return int(instant.replace(microsecond=0).timestamp()) * 1000 + instant.microsecond // 1000


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
