"""Expected values of the conformance table, typed by Athena's type names, and an exact comparison.

Exact means: the same Python type (an int is not a float, a bool is not an int), decimals with the same scale,
timestamps with or without a zone as expected, arrays in order, maps and rows field by field.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlglot import exp

T = exp.DType
STRINGS = (T.VARCHAR, T.CHAR, T.TEXT, T.JSON)
INTEGERS = (T.TINYINT, T.SMALLINT, T.INT, T.BIGINT)


def normalize_type(name: str) -> str:
    """Athena's result metadata has no varchar length and no timestamp precision (docs/local-athena.md): the
    precision is checked in the values (`same` compares microseconds)."""
    name = name.lower()
    name = re.sub(r"\b(var)?char\(\d+\)", "varchar", name)
    name = re.sub(r"timestamp\(\d+\)", "timestamp", name)
    return re.sub(r"\s+", "", name)


def parse_type(name: str) -> exp.DataType | None:
    return None if name.strip().lower() == "unknown" else exp.DataType.build(name, dialect="trino")


def _timestamp(text: str) -> datetime:
    text = str(text).strip()
    if text.endswith(" UTC"):
        return datetime.fromisoformat(text[: -len(" UTC")]).replace(tzinfo=UTC)
    return datetime.fromisoformat(text)


def expected_value(value: Any, data_type: exp.DataType | None) -> Any:
    """A YAML value as the Python value DuckDB returns for that Athena type."""
    if value is None or data_type is None:
        return value
    t = data_type.this
    if t in STRINGS:
        if not isinstance(value, str):
            raise TypeError(f"quote the varchar value {value!r}")
        return value
    if t in INTEGERS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{value!r} is not an integer")
        return value
    if t in (T.DOUBLE, T.FLOAT):
        return float(value)
    if t == T.DECIMAL:
        if not isinstance(value, str):
            raise TypeError(f"quote the decimal value {value!r} so its scale survives YAML")
        return Decimal(value)
    if t == T.BOOLEAN:
        if not isinstance(value, bool):
            raise TypeError(f"{value!r} is not a boolean")
        return value
    if t == T.DATE:
        return value if isinstance(value, date) else date.fromisoformat(value)
    if t in (T.TIMESTAMP, T.TIMESTAMPTZ):
        return _timestamp(value)
    if t == T.VARBINARY:
        return bytes.fromhex(value)
    if t == T.ARRAY:
        (element,) = data_type.expressions
        return [expected_value(v, element) for v in value]
    if t == T.MAP:
        key_type, value_type = data_type.expressions
        return {expected_value(k, key_type): expected_value(v, value_type) for k, v in value.items()}
    if t == T.STRUCT:
        fields = [f.args["kind"] if isinstance(f, exp.ColumnDef) else f for f in data_type.expressions]
        return tuple(expected_value(v, f) for v, f in zip(value, fields, strict=True))
    raise TypeError(f"no conversion for {data_type.sql(dialect='trino')}")


def same(expected: Any, actual: Any) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, Decimal):
        return isinstance(actual, Decimal) and expected == actual and expected.as_tuple()[2] == actual.as_tuple()[2]
    if isinstance(expected, float):
        return isinstance(actual, float) and (expected == actual or (math.isnan(expected) and math.isnan(actual)))
    if isinstance(expected, int):
        return type(actual) is int and expected == actual
    if isinstance(expected, datetime):
        zoned = (expected.tzinfo is None) == (actual.tzinfo is None) if isinstance(actual, datetime) else False
        return zoned and expected == actual
    if isinstance(expected, date):
        return type(actual) is date and expected == actual
    if isinstance(expected, str):
        return type(actual) is str and expected == actual
    if isinstance(expected, bytes):
        return isinstance(actual, bytes | bytearray | memoryview) and bytes(actual) == expected
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(map(same, expected, actual))
    if isinstance(expected, tuple):
        values = tuple(actual.values()) if isinstance(actual, dict) else actual
        return isinstance(values, tuple) and len(values) == len(expected) and all(map(same, expected, values))
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and len(expected) == len(actual)
            and all(any(same(k, ak) and same(v, actual[ak]) for ak in actual) for k, v in expected.items())
        )
    raise TypeError(f"cannot compare {expected!r}")
