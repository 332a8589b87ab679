"""Unit tests of the individual transforms on tiny frames (one Spark action each)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from dataplatform.config.models import Column, Contract
from dataplatform.transform.columns import column_reasons, typed_value
from dataplatform.transform.currency import add_converted_amounts, attach_rates, conversion_failed
from dataplatform.transform.names import converted_type, snake_case
from dataplatform.transform.standardize import SchemaDriftError, _swap_partitions, plan_columns
from dataplatform.transform.storage import HadoopFs


def _apply(spark: SparkSession, column: Column, values: list[str | None]) -> list[tuple[object, list[tuple[str, str]]]]:
    frame = spark.createDataFrame([(v,) for v in values], "v string")
    typed = typed_value(F.col("v"), StringType(), column)
    reasons = F.array_compact(F.array(*column_reasons(F.col("v"), StringType(), typed, column)))
    rows = frame.select(typed.alias("t"), reasons.alias("r")).collect()
    return [(row["t"], [(r["rule"], r["value"]) for r in row["r"]]) for row in rows]


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("Transaction_ID", "transaction_id"),
        ("StoreRegion", "store_region"),
        ("HTTPStatus", "http_status"),
        (" unit price (€) ", "unit_price"),
        ("\ufeffCustomer_ID", "customer_id"),
        ("2nd_address", "c_2nd_address"),
    ],
)
def test_snake_case(name: str, want: str) -> None:
    assert snake_case(name) == want


def test_snake_case_rejects_empty_names() -> None:
    with pytest.raises(ValueError, match="no letters or digits"):
        snake_case(" ( ) ")


def test_dates_try_each_format_in_order(spark: SparkSession) -> None:
    column = Column(name="d", type="date", nullable=False, formats=("yyyy-MM-dd", "dd/MM/yyyy", "MM-dd-yyyy"))
    got = _apply(spark, column, ["2024-03-01", "15/06/2023", "12-31-2024", " 2024-02-29 ", "2024-02-30",
                                 "31-12-2024", "2024/03/01", "", None])  # fmt: skip
    assert [t for t, _ in got] == [date(2024, 3, 1), date(2023, 6, 15), date(2024, 12, 31), date(2024, 2, 29),
                                   None, None, None, None, None]  # fmt: skip
    assert [r for _, r in got][4:] == [[("cast", "2024-02-30")], [("cast", "31-12-2024")], [("cast", "2024/03/01")],
                                       [("not_null", "")], [("not_null", None)]]  # fmt: skip


def test_numbers_are_strict_and_decimals_round_half_up(spark: SparkSession) -> None:
    amount = Column(name="a", type="decimal(12,2)", rules=("non_negative",))
    got = _apply(spark, amount, ["10", " 7.995 ", "-0.01", "1,5", "abc", "1e2", "12345678901.00"])
    assert [t for t, _ in got] == [Decimal("10.00"), Decimal("8.00"), Decimal("-0.01"), None, None,
                                   Decimal("100.00"), None]  # fmt: skip
    assert [r for _, r in got] == [[], [], [("non_negative", "-0.01")], [("cast", "1,5")], [("cast", "abc")], [],
                                   [("cast", "12345678901.00")]]  # fmt: skip
    quantity = Column(name="q", type="integer", rules=("positive",))
    got = _apply(spark, quantity, ["3", "0", "-2", "2.5", "99999999999"])
    assert [t for t, _ in got] == [3, 0, -2, None, None]
    assert [[x[0] for x in r] for _, r in got] == [[], ["positive"], ["positive"], ["cast"], ["cast"]]


def test_case_changes_only_where_a_column_asks_for_it(spark: SparkSession) -> None:
    # A rule never implies a normalization: a lower-case code fails its upper-case regex unless the column says
    # `normalize: upper` (it used to be upper-cased silently because the pattern started with ^[A-Z).
    code = Column(name="c", type="string", rules=({"regex": "^[A-Z]{3}$"},))
    assert _apply(spark, code, [" eur ", "USD"]) == [("eur", [("regex", " eur ")]), ("USD", [])]
    upper = Column(name="c", type="string", normalize="upper", rules=({"regex": "^[A-Z]{3}$"},))
    assert _apply(spark, upper, [" eur ", "USD"]) == [("EUR", []), ("USD", [])]
    gender = Column(name="g", type="string", normalize="upper", rules=({"in_set": ["MALE", "FEMALE"]},))
    got = _apply(spark, gender, [" female ", "Male", "other"])
    assert got == [("FEMALE", []), ("MALE", []), ("OTHER", [("in_set", "other")])]
    lower = Column(name="e", type="string", normalize="lower")
    assert _apply(spark, lower, ["Ada@Example.COM"]) == [("ada@example.com", [])]
    name = Column(name="n", type="string", rules=({"regex": "^S[0-9]+$"},))
    got = _apply(spark, name, ["\tS12 ", "s7"])
    assert got == [("S12", []), ("s7", [("regex", "s7")])]


def test_normalize_is_only_for_strings() -> None:
    with pytest.raises(ValidationError, match="normalize applies to string columns only"):
        Column(name="q", type="integer", normalize="upper")


def test_one_row_carries_several_reasons(spark: SparkSession) -> None:
    frame = spark.createDataFrame([("-1", "x")], "q string, d string")
    q = Column(name="q", type="integer", rules=("positive",))
    d = Column(name="d", type="date", nullable=False)
    exprs = [*column_reasons(F.col("q"), StringType(), typed_value(F.col("q"), StringType(), q), q)]
    exprs += column_reasons(F.col("d"), StringType(), typed_value(F.col("d"), StringType(), d), d)
    (row,) = frame.select(F.array_compact(F.array(*exprs)).alias("r")).collect()
    assert [(r["column"], r["rule"], r["value"]) for r in row["r"]] == [("q", "positive", "-1"), ("d", "cast", "x")]


def test_date_range_and_booleans(spark: SparkSession) -> None:
    day = Column(name="d", type="date", rules=({"date_range": {"min": "2020-01-01", "max": "2024-12-31"}},))
    got = _apply(spark, day, ["2019-12-31", "2020-01-01", "2025-01-01"])
    assert [[x[0] for x in r] for _, r in got] == [["date_range"], [], ["date_range"]]
    flag = Column(name="b", type="boolean")
    assert [t for t, _ in _apply(spark, flag, ["true", "NO", "1", "maybe"])] == [True, False, True, None]


RATES_SCHEMA = "base_currency string, currency_code string, rate_date date, rate decimal(18,8)"


def test_rates_are_cross_rates_on_one_base_and_the_latest_day_quoting_both(spark: SparkSession) -> None:
    rates = spark.createDataFrame(
        [("EUR", "USD", date(2024, 3, 1), Decimal("1.1")), ("EUR", "GBP", date(2024, 3, 1), Decimal("0.85")),
         ("EUR", "USD", date(2024, 3, 4), Decimal("1.2")),  # no GBP that day
         ("CHF", "USD", date(2024, 3, 6), Decimal("1.13"))],  # another base, alone: USD only
        RATES_SCHEMA,
    )  # fmt: skip
    rows = spark.createDataFrame(
        [(1, "GBP", date(2024, 3, 5)), (2, "EUR", date(2024, 3, 5)), (3, "USD", date(2000, 1, 1)),
         (4, "EUR", date(2024, 2, 29)), (5, "JPY", date(2024, 3, 5)), (6, "CHF", date(2024, 3, 7))],
        "id int, cur string, day date",
    )  # fmt: skip
    out = attach_rates(rows, rates, currency="cur", day="day", reporting_currency="USD")
    got = {r["id"]: (r["_rate_to"], r["_rate_from"]) for r in out.collect()}
    assert got == {
        1: (Decimal("1.1"), Decimal("0.85")),  # 03-04 has no GBP: both legs from 03-01
        2: (Decimal("1.2"), Decimal(1)),  # the base itself is 1
        3: (Decimal(1), Decimal(1)),  # the reporting currency converts at 1, rates or not
        4: (None, None),  # before the first rate
        5: (None, None),  # never quoted
        6: (Decimal("1.13"), Decimal(1)),  # any base works
    }


def test_line_amounts_convert_exactly_and_round_once_half_away_from_zero(spark: SparkSession) -> None:
    contract = Contract(
        key=("id",),
        partition_column="day",
        columns=(
            Column(name="id", type="bigint"),
            Column(name="price", type="decimal(12,2)"),
            Column(name="qty", type="integer"),
            Column(name="cur", type="string"),
            Column(name="day", type="date"),
        ),
        currency={"amount_columns": ["price"], "quantity_column": "qty", "currency_column": "cur",
                  "date_column": "day"},
    )  # fmt: skip
    rates = spark.createDataFrame(
        [("EUR", "JPY", date(2024, 3, 1), Decimal("161.88")), ("EUR", "USD", date(2024, 3, 1), Decimal("2"))],
        RATES_SCHEMA,
    )
    rows = spark.createDataFrame(
        [(1, Decimal("1.99"), 3, "JPY"),  # 5.97 / 161.88 = 0.0369 -> 0.04 (unit price first: 0.01 x 3 = 0.03)
         (2, Decimal("0.05"), 1, "USD"),  # exactly half a cent: 0.025 -> 0.03
         (3, Decimal("-0.05"), 1, "USD"),  # a refund rounds away from zero too: -0.03
         (4, Decimal("12.34"), 2, "EUR"),  # the reporting currency: the exact line amount
         (5, Decimal("9999999999.99"), 2_000_000_000, "JPY"),  # too large to convert exactly: null, flagged
         (6, Decimal("10.00"), 1, "XXX")],  # no rate: null, not flagged (the missing rate is its own reason)
        "id int, price decimal(12,2), qty int, cur string",
    ).withColumn("day", F.lit(date(2024, 3, 4)))  # fmt: skip
    out = add_converted_amounts(attach_rates(rows, rates, currency="cur", day="day", reporting_currency="EUR"),
                                contract, "EUR")  # fmt: skip
    out = out.withColumn("failed", conversion_failed(contract))
    got = {r["id"]: (r["line_price_reporting"], r["failed"], r["reporting_currency"]) for r in out.collect()}
    assert got == {
        1: (Decimal("0.04"), False, "EUR"),
        2: (Decimal("0.03"), False, "EUR"),
        3: (Decimal("-0.03"), False, "EUR"),
        4: (Decimal("24.68"), False, "EUR"),
        5: (None, True, "EUR"),
        6: (None, False, "EUR"),
    }
    assert dict(out.dtypes)["line_price_reporting"] == "decimal(19,2)" == converted_type("decimal(12,2)")


CONTRACT = Contract(
    key=("id",),
    partition_column="day",
    schema_drift="evolve",
    columns=(
        Column(name="id", source="ID", type="bigint", nullable=False),
        Column(name="day", source="Day", type="date", nullable=False),
        Column(name="note", type="string"),
    ),
)


def test_plan_maps_sources_and_evolves_new_columns() -> None:
    plan = plan_columns("d", CONTRACT, ["ID", "day", "Note", "StoreRegion", "_ingest_date", "_source_file", "_row"])
    assert plan.sources == {"id": "ID", "day": "day", "note": "Note"}  # exact, then case-insensitive
    assert plan.evolved == {"store_region": "StoreRegion"}
    assert plan_columns("d", CONTRACT, ["ID", "Day"]).sources["note"] is None  # nullable column may be absent


def test_freeze_fails_naming_the_new_column() -> None:
    frozen = CONTRACT.model_copy(update={"schema_drift": "freeze"})
    with pytest.raises(SchemaDriftError, match=r"dataset d: source column\(s\) 'StoreRegion' not in the contract"):
        plan_columns("d", frozen, ["ID", "Day", "note", "StoreRegion"])
    with pytest.raises(SchemaDriftError, match="'note' missing from the source"):
        plan_columns("d", frozen, ["ID", "Day"])


def test_evolve_refuses_a_new_column_that_collides() -> None:
    with pytest.raises(SchemaDriftError, match="maps to 'note'"):
        plan_columns("d", CONTRACT, ["ID", "Day", "note", "NOTE "])


def test_swap_moves_new_files_in_and_removes_old_ones(spark: SparkSession, tmp_path: Path) -> None:
    live, staging = tmp_path / "live", tmp_path / "staging"
    for path, text in [
        (live / "day=2024-01-01" / "part-old.parquet", "old"),
        (live / "day=2024-01-02" / "part-old.parquet", "old"),
        (live / "day=2024-01-03" / "part-keep.parquet", "untouched"),
        (staging / "day=2024-01-01" / "part-new.parquet", "new"),
    ]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    fs = HadoopFs(spark, str(live))
    _swap_partitions(fs, f"{live}/", f"{staging}/", "day", ["2024-01-01", "2024-01-02"])
    assert sorted(str(p.relative_to(live)) for p in live.rglob("*.parquet")) == [
        "day=2024-01-01/part-new.parquet",
        "day=2024-01-03/part-keep.parquet",
    ]
    assert not (live / "day=2024-01-02").exists()  # every key moved away: the partition is gone
    assert not staging.exists()
