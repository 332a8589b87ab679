"""Result types as Athena reports them: DuckDB's column types mapped to Athena engine v3 (Trino) type names.

Conventions (docs/local-athena.md): `varchar` without a length, and `timestamp` and `timestamp with time zone`
without a precision, like the type names of Athena's result metadata (GetQueryResults' ColumnInfo.Type, whose
precision is a separate field). The precision is in the values: milliseconds for Hive tables and Athena's own
timestamp functions, microseconds for Iceberg columns (Athena engine v3 reads Iceberg `timestamp` and `timestamptz`
as `timestamp(6)` and `timestamp(6) with time zone`).
A DuckDB type with no Athena counterpart (interval, time, uuid, ...) is refused rather than renamed. hugeint and
ubigint come only from DuckDB's integer sums and counts, which are bigints in Trino: they are reported as bigint,
and a value outside bigint's range fails as Trino's overflow does.
"""

from __future__ import annotations

import re

import duckdb
from sqlglot import exp

SIMPLE = {
    "boolean": "boolean",
    "tinyint": "tinyint",
    "smallint": "smallint",
    "integer": "integer",
    "bigint": "bigint",
    "float": "real",
    "double": "double",
    "varchar": "varchar",
    "date": "date",
    "timestamp": "timestamp",
    "timestamp_s": "timestamp",
    "timestamp_ms": "timestamp",
    "timestamp_ns": "timestamp",
    "timestamp with time zone": "timestamp with time zone",
    "blob": "varbinary",
    "null": "unknown",
    # DuckDB sums and counts integers as hugeint or ubigint where Trino has a bigint (engine checks the range).
    "hugeint": "bigint",
    "ubigint": "bigint",
}
WIDENED = ("hugeint", "ubigint")
ANONYMOUS_FIELD = re.compile(r"_\d+")  # sqlglot names the fields of ROW(1, 'a') _0, _1, ...
IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


class UnsupportedType(ValueError):
    """A DuckDB type that Athena has no name for."""

    def __init__(self, duckdb_type: str) -> None:
        self.duckdb_type = duckdb_type
        super().__init__(f"{duckdb_type.lower()} result")


def athena_type(t: duckdb.typing.DuckDBPyType) -> str:
    if str(t) == "JSON":  # DuckDB's JSON is a varchar alias; Athena has a json type
        return "json"
    if t.id in SIMPLE:
        return SIMPLE[t.id]
    if t.id == "decimal":
        precision, scale = (value for _, value in t.children)
        return f"decimal({precision},{scale})"
    if t.id in ("list", "array"):
        return f"array({athena_type(t.children[0][1])})"
    if t.id == "map":
        (_, key), (_, value) = t.children
        return f"map({athena_type(key)}, {athena_type(value)})"
    if t.id in ("struct", "tuple"):
        fields = t.children
        if t.id == "tuple" or all(ANONYMOUS_FIELD.fullmatch(name) for name, _ in fields):
            return "row(" + ", ".join(athena_type(field) for _, field in fields) + ")"
        return "row(" + ", ".join(f"{_field_name(name)} {athena_type(field)}" for name, field in fields) + ")"
    raise UnsupportedType(str(t))


def _field_name(name: str) -> str:
    return name if IDENTIFIER.fullmatch(name) else '"' + name.replace('"', '""') + '"'


def athena_type_name(con: duckdb.DuckDBPyConnection, duckdb_type: str) -> str:
    """The Athena name of a DuckDB type given as text (information_schema); unknown types keep their DuckDB name."""
    try:
        return athena_type(con.sqltype(duckdb_type))
    except (UnsupportedType, duckdb.Error):
        return duckdb_type.lower()


def hive_type_name(athena_name: str) -> str:
    """The type as Athena's DESCRIBE (Hive DDL) shows it: string, int, array<...> (the Glue catalog's spelling)."""
    return exp.DataType.build(athena_name, dialect="trino").sql(dialect="hive").lower().replace(" ", "")


def duckdb_type_to_glue(duckdb_type: str) -> tuple[str, str]:
    """(Glue/Hive type, Presto/Trino type) of a DuckDB column type, with Athena's names (hugeint sums are bigint)."""
    try:
        athena = athena_type(duckdb.sqltype(duckdb_type))
        return hive_type_name(athena), athena.replace(", ", ",")
    except (UnsupportedType, duckdb.Error):
        built = exp.DataType.build(duckdb_type, dialect="duckdb")
        return built.sql(dialect="hive").lower().replace(" ", ""), built.sql(dialect="trino").lower().replace(", ", ",")
