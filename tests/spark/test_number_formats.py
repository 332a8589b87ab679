"""Numbers as shops write them (contract number_format), and numbers no decimal can hold, on a local SparkSession.

A value that does not fit its format or type becomes a `cast` reason (quarantine), never a crash or a guess.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from dataplatform.config.models import Column
from dataplatform.transform.columns import column_reasons, expected_type, typed_value

pytestmark = pytest.mark.faults


def typed(spark: SparkSession, column: Column, values: list[str]) -> list[tuple[Any, list[str]]]:
    frame = spark.createDataFrame([(v,) for v in values], "v string")
    value = typed_value(F.col("v"), StringType(), column)
    reasons = F.array_compact(F.array(*column_reasons(F.col("v"), StringType(), value, column)))
    return [(r["t"], [x["rule"] for x in r["r"]]) for r in frame.select(value.alias("t"), reasons.alias("r")).collect()]


def test_decimal_comma_and_dot_grouping(spark: SparkSession, fault: Any) -> None:
    column = Column.model_validate(
        {"name": "price", "type": "decimal(12,2)", "number_format": {"decimal": ",", "grouping": "."}}
    )
    values = ["12,50", "1.234,90", "1234,9", "-0,5", ",75", "1.234.567", "12.50", "1,234.90", "12.34,5", "1,2,3"]
    got = typed(spark, column, values)
    assert [t for t, _ in got] == [
        Decimal("12.50"), Decimal("1234.90"), Decimal("1234.90"), Decimal("-0.50"), Decimal("0.75"),
        Decimal("1234567.00"), None, None, None, None,
    ]  # fmt: skip
    assert [r for _, r in got][6:] == [["cast"]] * 4  # dot-decimal text under a comma format goes to quarantine
    assert expected_type(column) == "decimal(12,2) written like 1.234,5"
    fault.bad_input("standardize: decimal comma with dot grouping", rows_in=len(values), rows_out=len(got))


def test_space_grouping_for_integers(spark: SparkSession) -> None:
    column = Column.model_validate(
        {"name": "quantity", "type": "integer", "number_format": {"decimal": ",", "grouping": " "}}
    )
    assert [t for t, _ in typed(spark, column, ["1 234", "12", "1 23", "12,0"])] == [1234, 12, None, None]


def test_without_a_format_a_decimal_comma_is_quarantined(spark: SparkSession, fault: Any) -> None:
    column = Column(name="price", type="decimal(12,2)")
    got = typed(spark, column, ["12,50", "12.50"])
    assert got == [(None, ["cast"]), (Decimal("12.50"), [])]
    fault.bad_input("standardize: decimal comma without a number format", rows_in=2, rows_out=len(got))


def test_postgres_numeric_text_that_no_decimal_holds_is_quarantined(spark: SparkSession, fault: Any) -> None:
    """Postgres numerics arrive as their exact text (ingest/postgres_source.py)."""
    column = Column(name="price", type="decimal(12,2)")
    values = ["NaN", "Infinity", "-Infinity", "1" + "0" * 40, "0.123456789012345678901", "12.50"]
    got = typed(spark, column, values)
    assert got == [
        (None, ["cast"]), (None, ["cast"]), (None, ["cast"]), (None, ["cast"]), (Decimal("0.12"), []),
        (Decimal("12.50"), []),
    ]  # fmt: skip
    fault.bad_input("standardize: NaN/Infinity/out-of-range numeric text", rows_in=len(values), rows_out=len(got))
