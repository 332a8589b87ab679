"""Hive-style catalog tables (Parquet or JSON lines under a location) as DuckDB relations.

The table's files are read with every column cast to its catalog type, plus the Hive partition columns taken from
the `<key>=<value>` path segments below the location. Partition projection needs no registration on Athena, and
locally every partition directory under the location is read, which gives the same rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlglot import exp


def glue_type_to_duckdb(glue_type: str) -> str:
    return exp.DataType.build(glue_type, dialect="hive").sql(dialect="duckdb")


def table_format(table: dict[str, Any]) -> str | None:
    """`parquet`, `json` or None (a format the local engine does not read), from the SerDe and classification."""
    sd = table.get("StorageDescriptor") or {}
    hints = " ".join(
        str(x)
        for x in (
            (sd.get("SerdeInfo") or {}).get("SerializationLibrary"),
            sd.get("InputFormat"),
            (table.get("Parameters") or {}).get("classification"),
        )
        if x
    ).lower()
    if "parquet" in hints:
        return "parquet"
    if "json" in hints:
        return "json"
    return None


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def select_sql(table: dict[str, Any], fmt: str, files: list[Path]) -> str:
    """A DuckDB SELECT of the table's rows from its local files (the catalog's columns, then partition columns)."""
    sd = table.get("StorageDescriptor") or {}
    columns = [(c["Name"], c["Type"]) for c in sd.get("Columns", [])]
    partitions = [(c["Name"], c["Type"]) for c in table.get("PartitionKeys", [])]
    if not files:
        empty = [f"CAST(NULL AS {glue_type_to_duckdb(t)}) AS {_quote(c)}" for c, t in columns + partitions]
        return f"SELECT {', '.join(empty)} WHERE false"
    select = [f"CAST({_quote(c)} AS {glue_type_to_duckdb(t)}) AS {_quote(c)}" for c, t in columns]
    # Partition values come from the `key=value` path segments; taken from the file name rather than
    # DuckDB's hive_partitioning so that unrelated `k=v` directories (e.g. run_id=...) add no columns.
    # Hive escapes special characters in values (%3A) and writes a null as __HIVE_DEFAULT_PARTITION__.
    select += [
        "CAST(NULLIF(NULLIF(url_decode(regexp_extract(filename, "
        f"{_literal(f'/{c}=([^/]+)/')}, 1)), ''), '__HIVE_DEFAULT_PARTITION__') AS {glue_type_to_duckdb(t)})"
        f" AS {_quote(c)}"
        for c, t in partitions
    ]
    file_list = "[" + ", ".join(_literal(p.as_posix()) for p in files) + "]"
    if fmt == "parquet":
        source = f"read_parquet({file_list}, filename = true, hive_partitioning = false, union_by_name = true)"
    else:
        json_columns = "{" + ", ".join(f"{_literal(c)}: {_literal(glue_type_to_duckdb(t))}" for c, t in columns) + "}"
        source = (
            f"read_json({file_list}, format = 'newline_delimited', columns = {json_columns}, "
            "filename = true, hive_partitioning = false)"
        )
    return f"SELECT {', '.join(select)} FROM {source}"
