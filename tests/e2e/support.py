"""Helpers for the end-to-end tests: snapshots of the curated zone and an independent computation of the marts."""

from __future__ import annotations

import io
import re
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from dataplatform.local.platform import LocalOptions, LocalPlatform, RunResult
from dataplatform.local.sample_data import SampleData
from tests.e2e.money import daily_totals, reporting_lines

ROOT = Path(__file__).resolve().parents[2]
E2E_SCALE = 0.2
WINDOW = ("2023-12-27", "2024-03-31")
SALES_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m-%d-%Y")


def pipeline_with_currency(target: Path, reporting_currency: str) -> Path:
    """A copy of the sample pipeline.yaml (and the sql/ folder beside it) with `reporting_currency` replaced: the
    workflow then runs as a user who changed that one line would run it. Returns the config file."""
    shutil.copytree(ROOT / "sql", target / "sql")
    text = (ROOT / "pipeline.yaml").read_text(encoding="utf-8")
    text, replaced = re.subn(r"(?m)^reporting_currency: .*$", f"reporting_currency: {reporting_currency}", text)
    assert replaced == 1, "pipeline.yaml has no top-level reporting_currency line"
    (target / "pipeline.yaml").write_text(text, encoding="utf-8")
    return target / "pipeline.yaml"


@contextmanager
def local_platform(reporting_currency: str | None = None) -> Iterator[LocalPlatform]:
    """A fresh platform with the sample sources over the sample pipeline, or over a copy of it with another
    reporting currency."""
    # Not tmp_path_factory: pytest prunes old basetemp directories of the same user, and another pytest process
    # on the machine can delete ours (with pgserver's data directory) while this long module is still running.
    work = Path(tempfile.mkdtemp(prefix="dataplatform-e2e-"))
    try:
        config = pipeline_with_currency(work / "pipeline", reporting_currency) if reporting_currency else None
        options = LocalOptions(
            root=ROOT, config=config, lake_dir=work / "lake", scale=E2E_SCALE, fresh=True, sample_services=True
        )
        with LocalPlatform(options) as running:
            yield running
    finally:
        shutil.rmtree(work, ignore_errors=True)


def curated_snapshot(platform: LocalPlatform) -> dict[str, list[tuple[str, ...]]]:
    """Every curated dataset's rows (all columns as text, sorted): equal snapshots mean identical contents."""
    s3 = platform.client("s3")
    rows: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=platform.lake.curated_bucket, Prefix="curated/"):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if key.startswith("curated/_quarantine/") or not key.endswith(".parquet"):
                continue
            dataset = key.split("/")[1]
            body = s3.get_object(Bucket=platform.lake.curated_bucket, Key=key)["Body"].read()
            table = pq.read_table(io.BytesIO(body))
            partition = "/".join(p for p in key.split("/")[2:-1] if "=" in p)
            for record in table.to_pylist():
                rows[dataset].append((partition, *(f"{k}={record[k]}" for k in sorted(record))))
    return {name: sorted(values) for name, values in rows.items()}


def state_objects(platform: LocalPlatform) -> dict[str, bytes]:
    s3 = platform.client("s3")
    found = {}
    for obj in s3.list_objects_v2(Bucket=platform.lake.curated_bucket, Prefix="state/").get("Contents", []):
        found[obj["Key"]] = s3.get_object(Bucket=platform.lake.curated_bucket, Key=obj["Key"])["Body"].read()
    return found


def _sales_date(text: str) -> date | None:
    for fmt in SALES_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def expected_orders(sample: SampleData) -> list[dict[str, Any]]:
    """The orders marts.sales_reporting should hold, computed from the generated inputs without the pipeline."""
    import csv

    orders: dict[str, dict[str, Any]] = {}
    for body in sample.sales_files.values():
        for row in csv.DictReader(io.StringIO(body.decode())):
            day = _sales_date(row["Transaction_Date"])
            quantity = int(row["Quantity"])
            if day is None or quantity <= 0 or not (len(row["Currency"]) == 3 and row["Currency"].isupper()):
                continue  # the contract's rules reject these rows
            orders[row["Transaction_ID"]] = {
                "source": "sales",
                "transaction_id": row["Transaction_ID"],
                "customer_id": int(row["Customer_ID"]),
                "quantity": quantity,
                "order_date": day,
                "amount": Decimal(row["Price"]) * quantity,
                "currency": row["Currency"],
            }
    for t in sample.transactions:
        orders[str(t["transaction_id"])] = {
            "source": "transactions",
            "transaction_id": str(t["transaction_id"]),
            "customer_id": t["customer_id"],
            "quantity": t["quantity"],
            "order_date": t["transaction_date"],
            "amount": t["total_amount"],
            "currency": t["currency"],
        }
    return list(orders.values())


def expected_daily(orders: list[dict[str, Any]]) -> dict[date, tuple[int, int, int]]:
    """order_date -> (orders, quantity, distinct customers)."""
    count: Counter[date] = Counter()
    quantity: Counter[date] = Counter()
    customers: dict[date, set[int]] = defaultdict(set)
    for o in orders:
        count[o["order_date"]] += 1
        quantity[o["order_date"]] += o["quantity"]
        customers[o["order_date"]].add(o["customer_id"])
    return {d: (count[d], quantity[d], len(customers[d])) for d in count}


def check_full_run(platform: LocalPlatform, result: RunResult) -> None:
    """What a first full run over WINDOW must give, in whatever reporting currency the platform's config has:
    conservation, the sample's bad rows (and only those) quarantined, and marts equal to an independent
    recomputation from the source data and the ECB rates, to the cent, per row and per day."""
    assert result.status == "SUCCEEDED", result.cause
    for name, d in result.datasets.items():
        assert d["raw_rows"] == d["curated_rows"] + d["quarantined_rows"] + d["duplicate_rows"], (name, d)
    sales = result.datasets["sales"]
    assert (sales["quarantined_rows"], sales["duplicate_rows"]) == (3, 2)  # the sample's bad and repeated rows
    assert result.datasets["transactions"]["quarantined_rows"] == 0  # every currency converts
    assert result.datasets["products"]["curated_rows"] == len(platform.sample.products)

    currency = platform.config.reporting_currency
    orders = expected_orders(platform.sample)
    lines = reporting_lines(orders, currency)
    engine = platform.dispatcher.athena_engine()
    got = engine.execute(
        "SELECT source, transaction_id, amount, currency, amount_reporting, reporting_currency, order_date "
        "FROM marts.sales_reporting"
    ).rows
    assert {(r[0], r[1]): (r[6], r[2], r[3], r[4]) for r in got} == {
        k: (v["order_date"], v["amount"], v["currency"], v["amount_reporting"]) for k, v in lines.items()
    }
    assert {r[5] for r in got} == {currency}
    daily = expected_daily(orders)
    revenue = daily_totals(lines)
    rows = engine.execute("SELECT order_date, orders, quantity, customers, revenue FROM marts.daily_revenue").rows
    assert {r[0]: (r[1], r[2], r[3]) for r in rows} == daily
    assert {r[0]: r[4] for r in rows} == revenue
    (kpi,) = engine.execute("SELECT orders, total_quantity, total_revenue, currency FROM marts.kpi_summary").rows
    assert kpi == (len(orders), sum(o["quantity"] for o in orders), sum(revenue.values()), currency)
    assert set(result.marts) >= {"sales_reporting", "daily_revenue", "customer_ltv", "product_revenue", "kpi_summary"}
    assert result.marts["sales_reporting"] == len(orders)
    # The sample data should show what the segments mart is for: customers in every segment of pipeline.yaml.
    segments = engine.execute("SELECT DISTINCT segment FROM marts.customer_segments").rows
    assert {r[0] for r in segments} == {"VIP", "High", "Medium", "Low"}
