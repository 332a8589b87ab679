"""Every mart on a fixture lake equals what plain Python computes from the same fixture rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dataplatform.athena import SAMPLE_SQL_DIR, load_sql_files
from dataplatform.config import PipelineConfig, load_config
from dataplatform.local.athena.engine import LocalAthena
from tests.component.athena_support import (
    BUCKET,
    Rows,
    cents,
    clean_data,
    expected_sales_reporting,
    variant,
    write_lake_dir,
)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "pipeline.yaml")


def build(tmp_path: Path, data: dict[str, Rows], config: PipelineConfig = CONFIG) -> LocalAthena:
    write_lake_dir(tmp_path, config, data)
    engine = LocalAthena.from_lake_dir(tmp_path, config, curated_bucket=BUCKET)
    for sql_file in load_sql_files(SAMPLE_SQL_DIR):
        if sql_file.kind != "assertion":
            engine.run_file(sql_file)
    return engine


@pytest.fixture(scope="module")
def data() -> dict[str, Rows]:
    return clean_data()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, data: dict[str, Rows]) -> LocalAthena:
    return build(tmp_path_factory.mktemp("lake"), data)


def rows(engine: LocalAthena, sql: str) -> list[dict[str, Any]]:
    return engine.execute(sql).as_dicts()


def segment_of(value: Decimal, config: PipelineConfig = CONFIG) -> str | None:
    s = config.segments
    if value >= Decimal(str(s.vip)):
        return "VIP"
    if value >= Decimal(str(s.high)):
        return "High"
    if value >= Decimal(str(s.medium)):
        return "Medium"
    return "Low" if value >= 0 else None


def test_sales_reporting_unifies_both_sources_in_the_reporting_currency(engine: LocalAthena, data) -> None:
    result = engine.execute("SELECT * FROM marts.sales_reporting ORDER BY source, transaction_id")
    expected = expected_sales_reporting(data)
    assert result.as_dicts() == expected
    assert len(expected) == len(data["sales"]) + len(data["transactions"])
    types = dict(zip(result.columns, result.types, strict=True))
    assert types["amount_reporting"] == "decimal(18,2)" and types["amount"] == "decimal(18,2)"  # Athena's type names
    assert types["transaction_id"] == "varchar"


def test_sales_reporting_counts_a_moved_transaction_once(tmp_path: Path, data) -> None:
    moved = dict(data["transactions"][0])
    moved.update(transaction_date=date(2024, 1, 6), updated_at=datetime(2024, 1, 7), total_amount=Decimal("150.00"))
    moved["total_amount_reporting"] = Decimal("150.00")
    resent_sale = dict(data["sales"][0], transaction_date=date(2024, 1, 6))
    dirty = variant(data, transactions=[*data["transactions"], moved], sales=[*data["sales"], resent_sale])
    with build(tmp_path, dirty) as engine:
        got = rows(engine, "SELECT * FROM marts.sales_reporting ORDER BY source, transaction_id")
    expected = expected_sales_reporting(dirty)
    assert got == expected
    assert len(got) == len(data["sales"]) + len(data["transactions"])
    latest = next(r for r in got if r["source"] == "transactions" and r["transaction_id"] == "100")
    assert latest["amount_reporting"] == Decimal("150.00") and latest["order_date"] == date(2024, 1, 6)


def test_daily_revenue(engine: LocalAthena, data) -> None:
    by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for sale in expected_sales_reporting(data):
        by_day[sale["order_date"]].append(sale)
    expected = [
        {
            "order_date": day,
            "revenue": sum((s["amount_reporting"] for s in sales), Decimal(0)),
            "orders": len(sales),
            "quantity": sum(s["quantity"] for s in sales),
            "customers": len({s["customer_id"] for s in sales if s["customer_id"] is not None}),
        }
        for day, sales in sorted(by_day.items())
    ]
    assert rows(engine, "SELECT * FROM marts.daily_revenue ORDER BY order_date") == expected


def expected_ltv(data: dict[str, Rows]) -> list[dict[str, Any]]:
    by_customer: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for sale in expected_sales_reporting(data):
        if sale["customer_id"] is not None:
            by_customer[sale["customer_id"]].append(sale)
    out = []
    for customer, sales in sorted(by_customer.items()):
        total = sum((s["amount_reporting"] for s in sales), Decimal(0))
        out.append(
            {
                "customer_id": customer,
                "lifetime_value": total,
                "orders": len(sales),
                "first_order_date": min(s["order_date"] for s in sales),
                "last_order_date": max(s["order_date"] for s in sales),
                "quantity": sum(s["quantity"] for s in sales),
                "avg_order_value": cents(total / len(sales)),
            }
        )
    return out


def test_customer_ltv(engine: LocalAthena, data) -> None:
    assert rows(engine, "SELECT * FROM marts.customer_ltv ORDER BY customer_id") == expected_ltv(data)


def test_product_revenue_with_latest_attributes(engine: LocalAthena, data) -> None:
    latest: dict[int, dict[str, Any]] = {}
    for product in sorted(data["products"], key=lambda p: p["snapshot_date"]):
        latest[product["product_id"]] = product
    by_product: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for sale in expected_sales_reporting(data):
        by_product[sale["product_id"]].append(sale)
    expected = []
    for product_id, sales in sorted(by_product.items()):
        total = sum((s["amount_reporting"] for s in sales), Decimal(0))
        expected.append(
            {
                "product_id": product_id,
                "product_name": latest[product_id]["product_name"],
                "category": latest[product_id]["category"],
                "total_revenue": total,
                "total_quantity": sum(s["quantity"] for s in sales),
                "orders": len(sales),
                "avg_order_value": cents(total / len(sales)),
            }
        )
    got = rows(engine, "SELECT * FROM marts.product_revenue ORDER BY product_id")
    assert got == expected
    assert any(r["product_name"] == "Standing desk" for r in got)  # renamed in the later snapshot


def test_customer_segments_use_the_configured_thresholds(engine: LocalAthena, data) -> None:
    expected = [
        {
            "customer_id": c["customer_id"],
            "lifetime_value": c["lifetime_value"],
            "segment": segment_of(c["lifetime_value"]),
            "orders": c["orders"],
            "last_order_date": c["last_order_date"],
        }
        for c in expected_ltv(data)
    ]
    got = rows(engine, "SELECT * FROM marts.customer_segments ORDER BY customer_id")
    assert got == expected
    assert {r["segment"] for r in got} == {"VIP", "High", "Medium", "Low"}  # the fixture spans every segment


def test_customer_segments_follow_pipeline_yaml(tmp_path: Path, data) -> None:
    config = CONFIG.model_copy(
        update={"segments": CONFIG.segments.model_copy(update={"vip": 100000, "high": 6000, "medium": 50})}
    )
    with build(tmp_path, data, config) as engine:
        got = rows(engine, "SELECT customer_id, segment FROM marts.customer_segments ORDER BY customer_id")
    assert got == [
        {"customer_id": c["customer_id"], "segment": segment_of(c["lifetime_value"], config)}
        for c in expected_ltv(data)
    ]
    assert "VIP" not in {r["segment"] for r in got}


def test_kpi_summary(engine: LocalAthena, data) -> None:
    sales = expected_sales_reporting(data)
    total = sum((s["amount_reporting"] for s in sales), Decimal(0))
    vip = sum(1 for c in expected_ltv(data) if segment_of(c["lifetime_value"]) == "VIP")
    assert rows(engine, "SELECT * FROM marts.kpi_summary") == [
        {
            "currency": CONFIG.reporting_currency,
            "total_revenue": total,
            "orders": len(sales),
            "customers": len({s["customer_id"] for s in sales if s["customer_id"] is not None}),
            "products": len({s["product_id"] for s in sales}),
            "total_quantity": sum(s["quantity"] for s in sales),
            "avg_order_value": cents(total / len(sales)),
            "first_order_date": min(s["order_date"] for s in sales),
            "last_order_date": max(s["order_date"] for s in sales),
            "vip_customers": vip,
        }
    ]


def test_mart_interface_columns(engine: LocalAthena) -> None:
    interface = {
        "daily_revenue": ["order_date", "revenue", "orders"],
        "customer_ltv": ["customer_id", "lifetime_value", "orders", "first_order_date", "last_order_date"],
        "product_revenue": ["product_id", "total_revenue", "total_quantity", "avg_order_value"],
        "customer_segments": ["customer_id", "lifetime_value", "segment"],
        "sales_reporting": [
            "transaction_id", "source", "customer_id", "product_id", "quantity", "amount", "currency",
            "amount_reporting", "reporting_currency", "order_date",
        ],
    }  # fmt: skip
    decimals = {"revenue", "lifetime_value", "total_revenue", "avg_order_value", "amount", "amount_reporting"}
    for mart, columns in interface.items():
        result = engine.execute(f"SELECT * FROM marts.{mart} LIMIT 0")
        assert set(columns) <= set(result.columns), mart
        for column, column_type in zip(result.columns, result.types, strict=True):
            if column in decimals:
                assert column_type.startswith("decimal("), (mart, column, column_type)
