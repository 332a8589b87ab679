"""Every data-quality assertion: 0 violations on the clean fixture, an exact count on a dirty one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from dataplatform.athena import SAMPLE_SQL_DIR, SqlFile, load_sql_files
from dataplatform.config import load_config
from dataplatform.local.athena.engine import LocalAthena
from tests.component.athena_support import BUCKET, Rows, clean_data, variant, write_lake_dir

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "pipeline.yaml")
FILES = load_sql_files(SAMPLE_SQL_DIR)
ASSERTIONS = {f.name: f for f in FILES if f.kind == "assertion"}
Data = dict[str, Rows]


def needed_views(assertion: SqlFile) -> list[SqlFile]:
    """The views an assertion reads, transitively, in run order (the others would only cost time)."""
    by_target = {f.target: f for f in FILES if f.kind == "view"}
    needed: set[str] = set()
    pending = list(assertion.reads)
    while pending:
        name = pending.pop()
        if name in by_target and name not in needed:
            needed.add(name)
            pending.extend(by_target[name].reads)
    return [f for f in FILES if f.target in needed]


def run_assertion(lake: Path, data: Data, assertion: SqlFile) -> list[tuple]:
    write_lake_dir(lake, CONFIG, data)
    with LocalAthena.from_lake_dir(lake, CONFIG, curated_bucket=BUCKET) as engine:
        for view in needed_views(assertion):
            engine.run_file(view)
        return engine.run_file(assertion).rows


def sale(data: Data, **changes: object) -> dict:
    return {**data["sales"][0], **changes}


def transaction(data: Data, **changes: object) -> dict:
    return {**data["transactions"][0], **changes}


def dirty_ri_customers(data: Data) -> Data:
    return variant(
        data,
        transactions=[*data["transactions"], transaction(data, transaction_id=200, customer_id=99)],
        sales=[
            *data["sales"],
            sale(data, transaction_id="S90", customer_id=98),
            sale(data, transaction_id="S91", customer_id=None),  # anonymous sale: not a violation
        ],
    )


def dirty_ri_products(data: Data) -> Data:
    return variant(
        data,
        transactions=[*data["transactions"], transaction(data, transaction_id=200, product_id=77)],
        sales=[*data["sales"], sale(data, transaction_id="S90", product_id=78)],
    )


def dirty_amounts(data: Data) -> Data:
    products = [dict(p) for p in data["products"]]
    products[0]["price"] = Decimal("-1.00")
    return variant(
        data,
        sales=[*data["sales"], sale(data, transaction_id="S90", quantity=0)],
        transactions=[
            *data["transactions"],
            # two problems in one record: reported once
            transaction(data, transaction_id=200, total_amount=Decimal("-5.00"), total_amount_reporting=Decimal("-5")),
            transaction(data, transaction_id=201, total_amount_reporting=Decimal("-0.01")),
        ],
        products=products,
    )


def dirty_date_range(data: Data) -> Data:
    today = date.today()
    customers = [dict(c) for c in data["customers"]]
    customers[0]["date_joined"] = CONFIG.quality.min_date  # boundary: allowed
    max_future = timedelta(days=CONFIG.quality.max_future_days)
    return variant(
        data,
        sales=[*data["sales"], sale(data, transaction_id="S90", transaction_date=date(2014, 12, 31))],
        transactions=[
            *data["transactions"],
            transaction(data, transaction_id=200, transaction_date=today + max_future),  # boundary: allowed
            transaction(data, transaction_id=201, transaction_date=today + max_future + timedelta(days=1)),
        ],
        customers=customers,
        exchange_rates=[*data["exchange_rates"], {**data["exchange_rates"][0], "rate_date": date(2001, 1, 1)}],
    )


def dirty_unique_keys(data: Data) -> Data:
    later = datetime(2024, 1, 8)
    return variant(
        data,
        transactions=[*data["transactions"], transaction(data, transaction_date=date(2024, 1, 6), updated_at=later)],
        sales=[*data["sales"], sale(data), sale(data)],  # S1 three times: one violating key
        # the same product in another snapshot is fine; twice in one snapshot is not
        products=[*data["products"], {**data["products"][0], "product_name": "Lamp (dup)"}],
    )


def dirty_valid_segments(data: Data) -> Data:
    refund = transaction(
        data, transaction_id=300, customer_id=4, total_amount=Decimal("-200.00"), total_amount_reporting=Decimal("-200")
    )
    return variant(data, transactions=[*data["transactions"], refund])


def dirty_reporting_currency(data: Data) -> Data:
    """Rows converted under another reporting currency (or none, from before conversion wrote the column)."""
    return variant(
        data,
        sales=[*data["sales"], sale(data, transaction_id="S90", reporting_currency="EUR")],
        transactions=[
            *data["transactions"],
            transaction(data, transaction_id=200, reporting_currency="EUR"),
            transaction(data, transaction_id=201, reporting_currency="EUR"),
            transaction(data, transaction_id=202, reporting_currency=None),
        ],
    )


def dirty_non_empty(data: Data) -> Data:
    return variant(data, exchange_rates=[], products=[])


DIRTY: dict[str, tuple[Callable[[Data], Data], int]] = {
    "dq_ri_customers": (dirty_ri_customers, 2),
    "dq_ri_products": (dirty_ri_products, 2),
    "dq_amounts": (dirty_amounts, 4),
    "dq_date_range": (dirty_date_range, 3),
    "dq_unique_keys": (dirty_unique_keys, 3),
    "dq_valid_segments": (dirty_valid_segments, 1),
    "dq_non_empty": (dirty_non_empty, 2),
    "dq_reporting_currency": (dirty_reporting_currency, 3),  # one row per (dataset, currency found)
}


def test_every_assertion_has_a_dirty_fixture() -> None:
    assert set(DIRTY) == set(ASSERTIONS)


@pytest.fixture(scope="module")
def clean_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    lake = tmp_path_factory.mktemp("clean")
    write_lake_dir(lake, CONFIG, clean_data())
    with LocalAthena.from_lake_dir(lake, CONFIG, curated_bucket=BUCKET) as engine:
        for sql_file in FILES:
            if sql_file.kind != "assertion":
                engine.run_file(sql_file)
        return {name: engine.run_file(f).rows for name, f in ASSERTIONS.items()}


@pytest.mark.parametrize("name", sorted(ASSERTIONS))
def test_clean_fixture_has_no_violations(clean_results: dict[str, list[tuple]], name: str) -> None:
    assert clean_results[name] == []


@pytest.mark.parametrize("name", sorted(DIRTY))
def test_dirty_fixture_has_exact_violations(tmp_path: Path, name: str) -> None:
    make, count = DIRTY[name]
    violations = run_assertion(tmp_path, make(clean_data()), ASSERTIONS[name])
    assert len(violations) == count, violations


def test_violation_rows_say_what_is_wrong(tmp_path: Path) -> None:
    rows = run_assertion(tmp_path / "a", dirty_amounts(clean_data()), ASSERTIONS["dq_amounts"])
    assert sorted(rows) == [
        ("products", "10", "negative price"),
        ("sales", "S90", "zero quantity"),
        ("transactions", "200", "negative total_amount"),
        ("transactions", "201", "negative total_amount_reporting"),
    ]
    rows = run_assertion(tmp_path / "u", dirty_unique_keys(clean_data()), ASSERTIONS["dq_unique_keys"])
    assert sorted(rows) == [("products", "10@2024-01-05", 2), ("sales", "S1", 3), ("transactions", "100", 2)]
    rows = run_assertion(tmp_path / "c", dirty_reporting_currency(clean_data()), ASSERTIONS["dq_reporting_currency"])
    assert sorted(rows, key=str) == [("sales", "EUR", 1), ("transactions", "EUR", 2), ("transactions", None, 1)]
    rows = run_assertion(tmp_path / "n", dirty_non_empty(clean_data()), ASSERTIONS["dq_non_empty"])
    assert sorted(rows) == [("exchange_rates",), ("products",)]


def test_severities() -> None:
    severities = {name: f.severity for name, f in ASSERTIONS.items()}
    assert severities == {
        "dq_ri_customers": "warn",
        "dq_ri_products": "warn",
        "dq_amounts": "error",
        "dq_date_range": "error",
        "dq_unique_keys": "error",
        "dq_valid_segments": "error",
        "dq_non_empty": "error",
        "dq_reporting_currency": "error",
    }


@pytest.mark.parametrize("name", sorted(DIRTY))
def test_the_workflow_runs_each_assertion_as_its_count(tmp_path: Path, name: str) -> None:
    """What check_quality reads: one row, `violations`, equal to the rows the assertion file lists."""
    from dataplatform.athena.sqlfiles import parameters_from_config

    make, count = DIRTY[name]
    write_lake_dir(tmp_path, CONFIG, make(clean_data()))
    with LocalAthena.from_lake_dir(tmp_path, CONFIG, curated_bucket=BUCKET) as engine:
        for view in needed_views(ASSERTIONS[name]):
            engine.run_file(view)
        query = ASSERTIONS[name].workflow_query(parameters_from_config(CONFIG, BUCKET), engine.databases)
        result = engine.execute(query)
    assert (result.columns, result.rows) == (["violations"], [(count,)])
