"""SHOW, DESCRIBE and information_schema with Athena's output and the logical database names.

Athena answers these from the Glue Data Catalog, so the local engine does too (the engine's `Catalog`), and shows
the databases as `dataplatform query` accepts them: `curated`, `marts`, `audit` (a catalog database outside the
deployment's three keeps its name). Output columns follow Athena (Hive DDL): SHOW TABLES -> tab_name,
SHOW DATABASES -> database_name, SHOW COLUMNS -> field, DESCRIBE -> col_name, data_type, comment (every column,
partition columns included).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType

from dataplatform.local.athena.macros import INFORMATION_SCHEMA, NotSupported
from dataplatform.local.athena.table_versions import INTERNAL_SCHEMA
from dataplatform.local.athena.types import athena_type_name

CATALOG_NAME = "awsdatacatalog"


class Catalog(Protocol):
    def databases(self) -> list[str]: ...

    def tables(self, database: str) -> list[dict[str, Any]]: ...

    def get_table(self, database: str, name: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class Answer:
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]


class Names:
    """Logical <-> catalog database names of one engine."""

    def __init__(self, databases: Mapping[str, str], current: str | None) -> None:
        self.to_catalog = {k.lower(): v for k, v in databases.items()}
        self.to_logical = {v.lower(): k for k, v in databases.items()}
        self.current = current

    def catalog(self, name: str | None) -> str:
        if name is None:
            if self.current is None:
                raise NotSupported("SHOW or DESCRIBE without a database (give one, or a current database)")
            return self.current
        return self.to_catalog.get(name.lower(), name)

    def logical(self, name: str) -> str:
        return self.to_logical.get(name.lower(), name)


def _hive_pattern(pattern: str) -> re.Pattern[str]:
    # Athena (Hive) patterns: * is any run of characters, | separates alternatives; matched case-insensitively.
    return re.compile(pattern.replace("*", ".*"), re.IGNORECASE)


def _columns(table: dict[str, Any]) -> list[dict[str, Any]]:
    sd = table.get("StorageDescriptor") or {}
    return [*sd.get("Columns", []), *table.get("PartitionKeys", [])]


def _words(text: str) -> list[tuple[str, str]]:
    tokens = sqlglot.Dialect.get_or_raise("athena").tokenize(text)
    return [("string" if t.token_type == TokenType.STRING else "word", t.text) for t in tokens]


def _show(text: str, catalog: Catalog, names: Names) -> Answer:
    words = _words(text)
    head = words[0][1].upper() if words else ""
    rest = words[1:]

    def take(*keywords: str) -> bool:
        if rest and rest[0][0] == "word" and rest[0][1].upper() in keywords:
            rest.pop(0)
            return True
        return False

    def name() -> str:
        parts = [rest.pop(0)[1]]
        while rest and rest[0][1] == ".":
            rest.pop(0)
            parts.append(rest.pop(0)[1])
        return ".".join(parts)

    def pattern() -> re.Pattern[str] | None:
        take("LIKE")
        return _hive_pattern(rest.pop(0)[1]) if rest and rest[0][0] == "string" else None

    if head == "TABLES":
        database = _database(catalog, names, name() if take("IN", "FROM") else None)
        match = pattern()
        tables = sorted(t["Name"] for t in catalog.tables(database) if not match or match.fullmatch(t["Name"]))
        result = Answer(["tab_name"], ["varchar"], [(t,) for t in tables])
    elif head in ("DATABASES", "SCHEMAS"):
        match = pattern()
        logical = sorted(names.logical(d) for d in catalog.databases())
        result = Answer(["database_name"], ["varchar"], [(d,) for d in logical if not match or match.fullmatch(d)])
    elif head == "COLUMNS" and take("IN", "FROM"):
        qualified = name()
        database = name() if take("IN", "FROM") else None
        db, _, table_name = qualified.rpartition(".")
        table = _table(catalog, names, database or db or None, table_name)
        result = Answer(["field"], ["varchar"], [(c["Name"],) for c in _columns(table)])
    else:
        raise NotSupported(f"SHOW {head}".strip())
    if rest:
        raise NotSupported(f"SHOW {head} with {' '.join(w for _, w in rest)}")
    return result


def _database(catalog: Catalog, names: Names, database: str | None) -> str:
    db = names.catalog(database)
    if db not in catalog.databases():
        raise LookupError(f"database {names.logical(db)} does not exist")
    return db


def _table(catalog: Catalog, names: Names, database: str | None, table_name: str) -> dict[str, Any]:
    db = _database(catalog, names, database)
    table = catalog.get_table(db, table_name)
    if table is None:
        raise LookupError(f"table {names.logical(db)}.{table_name} does not exist")
    return table


def _describe(statement: exp.Describe, catalog: Catalog, names: Names) -> Answer:
    target = statement.this
    if not isinstance(target, exp.Table) or statement.args.get("style") or statement.args.get("partition"):
        raise NotSupported("DESCRIBE EXTENDED, FORMATTED, of a partition or of a column")
    table = _table(catalog, names, target.db or None, target.name)
    rows = [(c["Name"], c["Type"], c.get("Comment") or "") for c in _columns(table)]
    return Answer(["col_name", "data_type", "comment"], ["varchar", "varchar", "varchar"], rows)


def answer(statement: exp.Expression, catalog: Catalog, databases: Mapping[str, str], current: str | None):
    """The result of a SHOW or DESCRIBE statement, or None for any other statement."""
    names = Names(databases, current)
    if isinstance(statement, exp.Describe):
        return _describe(statement, catalog, names)
    if isinstance(statement, exp.Command) and statement.name.upper() == "SHOW":
        return _show(statement.expression.name, catalog, names)
    if isinstance(statement, exp.Show):
        raise NotSupported(f"SHOW {statement.name}")
    return None


def uses_information_schema(statement: exp.Expression) -> bool:
    return any(t.db.lower() == "information_schema" for t in statement.find_all(exp.Table))


def refresh_information_schema(con: duckdb.DuckDBPyConnection, catalog: Catalog, databases: Mapping[str, str]) -> None:
    """Athena's information_schema tables, rebuilt from the catalog and DuckDB's column types before a query."""
    names = Names(databases, None)
    schemata, tables, views = [], [], []
    for database in catalog.databases():
        logical = names.logical(database)
        schemata.append((CATALOG_NAME, logical))
        for table in catalog.tables(database):
            is_view = table.get("TableType") == "VIRTUAL_VIEW"
            tables.append((CATALOG_NAME, logical, table["Name"], "VIEW" if is_view else "BASE TABLE"))
            if is_view:
                views.append((CATALOG_NAME, logical, table["Name"]))
    schemata.append((CATALOG_NAME, "information_schema"))
    columns = [
        (CATALOG_NAME, names.logical(db), table, column, position + 1, None, nullable, athena_type_name(con, dtype))
        for db, table, column, position, nullable, dtype in con.execute(
            "SELECT schema_name, table_name, column_name, column_index - 1, CASE WHEN is_nullable THEN 'YES' "
            "ELSE 'NO' END, data_type FROM duckdb_columns() WHERE database_name = current_database() "
            f"AND schema_name NOT IN ('main', '{INFORMATION_SCHEMA}', '{INTERNAL_SCHEMA}') "
            "ORDER BY schema_name, table_name, column_index"
        ).fetchall()
    ]
    layouts = {
        "schemata": ("catalog_name VARCHAR, schema_name VARCHAR", schemata),
        "tables": ("table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, table_type VARCHAR", tables),
        "views": ("table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR", views),
        "columns": (
            "table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, column_name VARCHAR, "
            "ordinal_position BIGINT, column_default VARCHAR, is_nullable VARCHAR, data_type VARCHAR",
            columns,
        ),
    }
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {INFORMATION_SCHEMA}")
    for table_name, (layout, rows) in layouts.items():
        target = f"{INFORMATION_SCHEMA}.{table_name}"
        con.execute(f"CREATE OR REPLACE TABLE {target} ({layout})")
        if rows:
            placeholders = ", ".join("?" * len(rows[0]))
            con.executemany(f"INSERT INTO {target} VALUES ({placeholders})", rows)
