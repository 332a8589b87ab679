"""Render a QueryResult as a rich table, CSV or JSON (for `dataplatform query`)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal

from rich.console import Console
from rich.table import Table

from dataplatform.athena.engine import QueryResult

OutputFormat = Literal["table", "csv", "json"]
NUMERIC_TYPES = ("decimal", "bigint", "integer", "double", "real", "smallint", "tinyint")  # Athena's type names


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _json_value(value: Any) -> Any:
    # Decimals stay exact: as strings, never floats (amounts are decimals end to end).
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value


def to_csv(result: QueryResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow([_text(v) for v in row])
    return buffer.getvalue()


def to_json(result: QueryResult) -> str:
    rows = [{c: _json_value(v) for c, v in zip(result.columns, row, strict=True)} for row in result.rows]
    return json.dumps(rows, indent=2)


def print_table(result: QueryResult, console: Console) -> None:
    table = Table(show_lines=False, header_style="bold")
    for column, column_type in zip(result.columns, result.types, strict=True):
        numeric = column_type.startswith(NUMERIC_TYPES)
        table.add_column(column, justify="right" if numeric else "left")
    for row in result.rows:
        table.add_row(*(_text(v) if v is not None else "NULL" for v in row))
    console.print(table)
    console.print(f"{len(result.rows)} row{'s' if len(result.rows) != 1 else ''}", style="dim")


def emit(result: QueryResult, fmt: OutputFormat, console: Console) -> None:
    if fmt == "csv":
        console.file.write(to_csv(result))
    elif fmt == "json":
        console.file.write(to_json(result) + "\n")
    elif not result.columns:
        console.print("OK")
    else:
        print_table(result, console)
