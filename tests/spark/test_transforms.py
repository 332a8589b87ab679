"""Unit tests of the individual transforms on tiny frames (one Spark action each)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from dataplatform.config.models import Column, Contract
from dataplatform.transform.columns import column_reasons, is_code, typed_value
from dataplatform.transform.currency import attach_rates, converted_type
from dataplatform.transform.names import snake_case
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


def test_codes_are_trimmed_and_upper_cased_other_text_keeps_case(spark: SparkSession) -> None:
    gender = Column(name="g", type="string", rules=({"in_set": ["MALE", "FEMALE"]},))
    name = Column(name="n", type="string", rules=({"regex": "^S[0-9]+$"},))
    assert is_code(gender) and not is_code(name)
    assert is_code(Column(name="c", type="string", rules=({"regex": "^[A-Z]{3}$"},)))
    got = _apply(spark, gender, [" female ", "Male", "other"])
    assert got == [("FEMALE", []), ("MALE", []), ("OTHER", [("in_set", "other")])]
    got = _apply(spark, name, ["\tS12 ", "s7"])
    assert got == [("S12", []), ("s7", [("regex", "s7")])]


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


def test_exchange_rate_is_as_of_the_day_or_nearest_earlier(spark: SparkSession) -> None:
    rates = spark.createDataFrame(
        [("USD", "EUR", date(2024, 3, 1), Decimal("0.9")), ("USD", "EUR", date(2024, 3, 4), Decimal("0.8")),
         ("EUR", "GBP", date(2024, 3, 1), Decimal("0.5"))],  # other base: ignored
        "base_currency string, currency_code string, rate_date date, rate decimal(18,8)",
    )  # fmt: skip
    rows = spark.createDataFrame(
        [(1, "EUR", date(2024, 3, 1)), (2, "EUR", date(2024, 3, 3)), (3, "EUR", date(2024, 3, 5)),
         (4, "EUR", date(2024, 2, 29)), (5, "USD", date(2000, 1, 1)), (6, "GBP", date(2024, 3, 2))],
        "id int, cur string, day date",
    )  # fmt: skip
    out = attach_rates(rows, rates, currency="cur", day="day", reporting_currency="USD")
    got = {r["id"]: r["_rate"] for r in out.collect()}
    assert got == {1: Decimal("0.9"), 2: Decimal("0.9"), 3: Decimal("0.8"), 4: None, 5: Decimal(1), 6: None}
    assert converted_type("decimal(12,2)") == "decimal(18,2)"
    assert converted_type("decimal(36,4)") == "decimal(38,4)"


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
