"""The routes over a fixture lake: each answer equals the same mart queried directly on the local engine."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dataplatform.local.athena.engine import LocalAthena
from tests.api.support import BUCKET, CONFIG, ServedApi


def direct(api: ServedApi, sql: str) -> list[dict[str, Any]]:
    with LocalAthena.from_lake_dir(api.lake_dir, CONFIG, curated_bucket=BUCKET) as engine:
        return engine.execute(sql).as_dicts()


def test_kpi_summary_is_the_mart_row_with_money_as_decimal_strings(api: ServedApi) -> None:
    status, body = api.get("/kpi/summary")
    (row,) = direct(api, "SELECT * FROM marts.kpi_summary")
    assert status == 200
    assert body["total_revenue"] == {"amount": str(row["total_revenue"]), "currency": row["currency"]}
    assert body["avg_order_value"] == {"amount": str(row["avg_order_value"]), "currency": "USD"}
    for field in ("orders", "customers", "products", "total_quantity", "vip_customers"):
        assert body[field] == row[field]
    assert body["first_order_date"] == row["first_order_date"].isoformat()


def test_revenue_by_category_sums_product_revenue(api: ServedApi) -> None:
    status, body = api.get("/kpi/revenue-by-category")
    expected: dict[Any, Decimal] = {}
    for r in direct(api, "SELECT category, total_revenue FROM marts.product_revenue"):
        expected[r["category"]] = expected.get(r["category"], Decimal(0)) + r["total_revenue"]
    assert status == 200
    assert {c["category"]: Decimal(c["revenue"]["amount"]) for c in body["categories"]} == expected
    amounts = [Decimal(c["revenue"]["amount"]) for c in body["categories"]]
    assert amounts == sorted(amounts, reverse=True)


def test_daily_revenue_between_dates(api: ServedApi) -> None:
    status, body = api.get("/kpi/daily-revenue?from=2024-01-06&to=2024-01-06")
    (row,) = direct(api, "SELECT * FROM marts.daily_revenue WHERE order_date = DATE '2024-01-06'")
    assert status == 200
    assert body["days"] == [
        {"order_date": "2024-01-06", "revenue": {"amount": str(row["revenue"]), "currency": "USD"},
         "orders": row["orders"], "quantity": row["quantity"], "customers": row["customers"]}
    ]  # fmt: skip
    assert len(api.get("/kpi/daily-revenue")[1]["days"]) == len(direct(api, "SELECT * FROM marts.daily_revenue"))
    status, body = api.get("/kpi/daily-revenue?from=2024-01-07&to=2024-01-06")
    assert status == 400 and body["error"]["code"] == "invalid_request"


def test_mart_pages_walk_every_row_once(api: ServedApi) -> None:
    rows, token, pages = [], None, 0
    while True:
        status, body = api.get("/marts/customer_segments?limit=2" + (f"&next={token}" if token else ""))
        assert status == 200
        rows += body["rows"]
        pages += 1
        token = body["next"]
        if token is None:
            break
    expected = direct(api, "SELECT * FROM marts.customer_segments")
    assert pages == (len(expected) + 1) // 2
    assert sorted(r["customer_id"] for r in rows) == sorted(r["customer_id"] for r in expected)
    assert {r["customer_id"]: r["lifetime_value"] for r in rows} == {
        r["customer_id"]: str(r["lifetime_value"]) for r in expected
    }


def test_marts_lists_the_allow_list(api: ServedApi) -> None:
    assert api.get("/marts")[1]["marts"] == sorted(
        ["customer_ltv", "customer_segments", "daily_revenue", "kpi_summary", "product_revenue", "sales_reporting"]
    )


def test_runs_take_the_latest_record_per_dataset_and_fail_when_one_failed(api: ServedApi) -> None:
    status, body = api.get("/runs?limit=1")
    assert status == 200 and [r["run_id"] for r in body["runs"]] == ["20240105-20240105-aaaaaaaaaa"]
    runs = {r["run_id"]: r for r in api.get("/runs")[1]["runs"]}
    assert runs["20240106-20240106-bbbbbbbbbb"]["status"] == "FAILED"
    first = runs["20240105-20240105-aaaaaaaaaa"]
    assert (first["datasets"], first["raw_rows"], first["quarantined_rows"]) == (2, 9, 1)  # the re-run counts once
    status, detail = api.get("/runs/20240106-20240106-bbbbbbbbbb")
    assert status == 200
    assert [(d["dataset"], d["status"], d["error"]) for d in detail["datasets"]] == [
        ("products", "SUCCEEDED", None), ("sales", "FAILED", "boom")
    ]  # fmt: skip
    status, body = api.get("/runs/20990101-20990101-cccccccccc")
    assert status == 404 and body["error"]["code"] == "not_found"


def test_datasets_and_quarantine(api: ServedApi) -> None:
    datasets = {d["name"]: d for d in api.get("/datasets")[1]["datasets"]}
    assert datasets["sales"]["uploadable"] and datasets["sales"]["max_upload_bytes"] == 100 * 1024 * 1024
    assert not datasets["products"]["uploadable"] and datasets["products"]["max_upload_bytes"] is None
    status, body = api.get("/datasets/sales/quarantine?run_id=20240105-20240105-aaaaaaaaaa")
    assert status == 200
    assert body["reasons"] == [{"reason": "price:non_negative", "rows": 2}, {"reason": "price:cast", "rows": 1}]
    assert body["total_rows"] == 3 and len(body["samples"]) == 3
    assert "reasons" not in body["samples"][0]  # only scalar columns are sampled
    assert api.get("/datasets/customers/quarantine")[1] == {
        "dataset": "customers", "run_id": None, "total_rows": 0, "reasons": [], "samples": []
    }  # fmt: skip


def test_openapi_document_lists_every_route(api: ServedApi) -> None:
    status, document = api.get("/openapi.json")
    assert status == 200
    assert set(document["paths"]) == {
        "/health", "/kpi/summary", "/kpi/revenue-by-category", "/kpi/daily-revenue", "/marts", "/marts/{name}",
        "/runs", "/runs/{run_id}", "/datasets", "/datasets/{name}/quarantine", "/uploads/{dataset}",
    }  # fmt: skip
    money = document["components"]["schemas"]["Money"]["properties"]["amount"]
    assert money["type"] == "string"
