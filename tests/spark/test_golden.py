"""Golden runs of the five reference datasets (pipeline.yaml contracts): fixture in, exact rows out.

Expected rows come from tests/spark/reference.py (plain Python over the same fixture values). One lake per
module: exchange_rates first (the others convert through it), then the rest; later tests re-run and update.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession

from dataplatform.config import PipelineConfig
from dataplatform.transform.standardize import (
    RawInput,
    StandardizeRequest,
    StandardizeResult,
    standardize,
)
from tests.spark import fixtures as fx
from tests.spark.rawdata import CURATED_BUCKET, write_raw
from tests.spark.reference import Outcome, RawRow, run_contract

META = ("_ingest_date", "_ingested_at", "_run_id")
CREATED = datetime(2024, 3, 1, 6, 0, tzinfo=UTC)


class Lake:
    def __init__(self, root: Path, spark: SparkSession, config: PipelineConfig) -> None:
        self.root, self.spark, self.config = root, spark, config
        self.curated = f"{root / CURATED_BUCKET / 'curated'}/"
        self.quarantine = f"{self.curated}_quarantine/"
        self.inputs: dict[str, RawInput] = {}
        self.results: dict[str, StandardizeResult] = {}

    def run(self, dataset: str, run_id: str = "run-1", inputs: tuple[RawInput, ...] | None = None) -> StandardizeResult:
        request = StandardizeRequest(
            dataset=dataset,
            run_id=run_id,
            config=self.config,
            inputs=inputs if inputs is not None else (self.inputs[dataset],),
            curated_root=self.curated,
            quarantine_root=self.quarantine,
        )
        return standardize(self.spark, request)

    def curated_rows(self, dataset: str) -> list[dict[str, Any]]:
        path = f"{self.curated}{dataset}"
        return [r.asDict() for r in self.spark.read.parquet(path).collect()]

    def quarantine_rows(self, dataset: str, run_id: str = "run-1") -> list[dict[str, Any]]:
        path = f"{self.quarantine}{dataset}/run_id={run_id}"
        return [r.asDict(recursive=True) for r in self.spark.read.parquet(path).collect()]


def raw_rows(records: list[dict[str, Any]], file_index: int = 0) -> list[RawRow]:
    return [RawRow(values=r, order=(CREATED, file_index, i)) for i, r in enumerate(records)]


def rates_table() -> list[dict[str, Any]]:
    return expected("exchange_rates").accepted


@functools.cache
def expected(dataset: str) -> Outcome:
    from tests.spark.conftest import load_spark_config

    contract = load_spark_config().datasets[dataset].contract
    if dataset == "exchange_rates":
        return run_contract(contract, raw_rows(fx.RATES))
    if dataset == "sales":
        rows = [
            RawRow(values=dict(zip(fx.SALES_HEADER, values, strict=True)), order=(CREATED, f, i))
            for f, part in enumerate(fx.SALES_PARTS)
            for i, values in enumerate(part)
        ]
        return run_contract(contract, rows, rates=rates_table(), extra_columns={"store": "Store"})
    if dataset == "transactions":
        rows = raw_rows([{**r, "updated_at": r["updated_at"].replace(tzinfo=None)} for r in fx.TRANSACTION_ROWS])
        return run_contract(contract, rows, rates=rates_table())
    if dataset == "customers":
        return run_contract(contract, raw_rows(fx.CUSTOMERS))
    if dataset == "products":
        return run_contract(contract, raw_rows(fx.PRODUCT_ROWS))
    raise AssertionError(dataset)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, spark: SparkSession, config: PipelineConfig) -> Lake:
    root = tmp_path_factory.mktemp("lake")
    lake = Lake(root, spark, config)
    write = dict(run_id="run-1", created_at=CREATED)
    lake.inputs["exchange_rates"], _ = write_raw(root, "exchange_rates", fmt="jsonl.gz", parts=[fx.RATES], **write)
    lake.inputs["sales"], _ = write_raw(
        root,
        "sales",
        fmt="csv.gz",
        parts=[(fx.SALES_HEADER, part) for part in fx.SALES_PARTS],
        source={"encoding": "utf-8", "delimiter": ","},
        **write,
    )
    lake.inputs["transactions"], _ = write_raw(
        root, "transactions", fmt="parquet", parts=[fx.table(fx.TRANSACTION_ROWS, fx.TRANSACTION_SCHEMA)], **write
    )
    lake.inputs["customers"], _ = write_raw(root, "customers", fmt="jsonl.gz", parts=[fx.CUSTOMERS], **write)
    lake.inputs["products"], _ = write_raw(
        root, "products", fmt="parquet", parts=[fx.table(fx.PRODUCT_ROWS, fx.PRODUCT_SCHEMA)], **write
    )
    for dataset in ("exchange_rates", "sales", "transactions", "customers", "products"):
        lake.results[dataset] = lake.run(dataset)
    return lake


def _without_meta(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in META}


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: repr(sorted(r.items())))


DATASETS = ["exchange_rates", "sales", "transactions", "customers", "products"]


@pytest.mark.parametrize("dataset", DATASETS)
def test_golden_curated_rows(lake: Lake, dataset: str) -> None:
    want = expected(dataset)
    got = [_without_meta(r) for r in lake.curated_rows(dataset)]
    assert _sorted(got) == _sorted(want.accepted)
    assert all(r["_run_id"] == "run-1" and r["_ingest_date"] == date(2024, 3, 1) for r in lake.curated_rows(dataset))


@pytest.mark.parametrize("dataset", DATASETS)
def test_golden_quarantine_reasons(lake: Lake, dataset: str) -> None:
    contract = lake.config.datasets[dataset].contract
    key_sources = [contract.column(k).source_name for k in contract.key]
    want = sorted(
        (tuple(str(values.get(s)) for s in key_sources), sorted(reasons))
        for values, reasons in expected(dataset).quarantined
    )
    got = sorted(
        (
            tuple(str(row[k]) for k in contract.key),
            sorted((r["column"], r["rule"]) for r in row["reasons"]),
        )
        for row in lake.quarantine_rows(dataset)
    )
    assert got == want


@pytest.mark.parametrize("dataset", DATASETS)
def test_conservation(lake: Lake, dataset: str) -> None:
    result = lake.results[dataset]
    want = expected(dataset)
    manifest_rows = lake.inputs[dataset].manifest.rows
    assert result.raw_rows == manifest_rows
    assert result.raw_rows == result.curated_rows + result.quarantined_rows + result.duplicate_rows
    assert result.curated_rows == len(lake.curated_rows(dataset)) == len(want.accepted)
    assert result.quarantined_rows == len(lake.quarantine_rows(dataset)) == len(want.quarantined)
    assert result.duplicate_rows == want.duplicates
    record = result.record()
    assert set(record) >= {"dataset", "run_id", "raw_rows", "curated_rows", "quarantined_rows", "duplicate_rows",
                           "partitions", "status"}  # fmt: skip


def test_golden_exercises_the_dirty_cases(lake: Lake) -> None:
    """Guard that the fixture keeps covering each dirty case (and the reference agrees)."""
    reasons = {dataset: {pair for _, rs in expected(dataset).quarantined for pair in rs} for dataset in DATASETS}
    assert {("transaction_date", "cast"), ("quantity", "positive"), ("currency", "exchange_rate"),
            ("price", "not_null"), ("transaction_id", "regex")} <= reasons["sales"]  # fmt: skip
    assert {("quantity", "positive"), ("total_amount", "non_negative"), ("currency", "exchange_rate"),
            ("customer_id", "not_null")} <= reasons["transactions"]  # fmt: skip
    assert {("gender", "in_set"), ("date_joined", "cast"), ("age", "positive"), ("updated_at", "cast")} <= reasons[
        "customers"
    ]
    assert expected("sales").duplicates == 2 and expected("transactions").duplicates == 2
    assert expected("customers").duplicates == 1


def test_specific_values(lake: Lake) -> None:
    sales = {r["transaction_id"]: r for r in lake.curated_rows("sales")}
    assert sales["S1"]["quantity"] == 5  # the later file's version of a duplicate key
    assert sales["S2"]["currency"] == "EUR" and sales["S2"]["transaction_date"] == date(2024, 3, 3)
    assert sales["S2"]["store"] == "South"  # evolved column, trimmed
    assert sales["S12"]["store"] == "South, Annex"
    # Line amounts (price x quantity) in the reporting currency, rounded once.
    assert sales["S9"]["line_price_reporting"] == Decimal("0.01")  # 2 JPY at the 03-01 rate (150.5) for 03-05
    assert sales["S3"]["line_price_reporting"] == Decimal("27.53")  # 3 x 7.25 / 0.79 = 27.531...; not 3 x 9.18
    assert sales["S1"]["line_price_reporting"] == Decimal("55.00")
    assert {r["reporting_currency"] for r in sales.values()} == {"USD"}
    transactions = {r["transaction_id"]: r for r in lake.curated_rows("transactions")}
    assert transactions[2]["quantity"] == 3  # newer updated_at wins
    assert transactions[7]["quantity"] == 4  # newer updated_at wins even though it came first
    assert transactions[4]["currency"] == "EUR" and transactions[4]["total_amount_reporting"] == Decimal("8.70")
    customers = {r["customer_id"]: r for r in lake.curated_rows("customers")}
    assert customers[1]["customer_name"] == "Alice B" and customers[1]["gender"] == "FEMALE"
    assert customers[2]["date_joined"] == date(2023, 6, 15)
    assert customers[6]["updated_at"] == datetime(2024, 3, 1, 10, 30)  # +02:00 kept as the UTC instant
    products = {r["product_id"]: r for r in lake.curated_rows("products")}
    assert products[6]["price"] == Decimal("8.00")  # half-up at the contract scale
    assert products[2]["category"] == "Toys"
    assert {r["snapshot_date"] for r in products.values()} == {date(2024, 3, 1)}  # ingest date for a snapshot
    quarantine = {r["transaction_id"]: r for r in lake.quarantine_rows("sales")}
    s5 = quarantine["S5"]
    assert {(r["column"], r["value"]) for r in s5["reasons"]} == {("price", "abc"), ("transaction_date", "2024/03/01")}
    assert s5["reason"] == "price:cast; transaction_date:cast"
    assert s5["source_file"].endswith("part-00000.csv.gz")


def test_curated_layout_is_zstd_parquet_by_partition(lake: Lake) -> None:
    root = Path(lake.curated) / "sales"
    days = sorted(p.name for p in root.iterdir())
    assert days == ["transaction_date=2024-03-01", "transaction_date=2024-03-02", "transaction_date=2024-03-03",
                    "transaction_date=2024-03-05"]  # fmt: skip
    files = list(root.rglob("*.parquet"))
    assert files and all(pq.ParquetFile(f).metadata.row_group(0).column(0).compression == "ZSTD" for f in files)
    assert not (Path(lake.curated) / "_staging" / "sales").exists() or not any(
        (Path(lake.curated) / "_staging" / "sales").rglob("*.parquet")
    )


def test_rerun_same_run_leaves_the_same_rows(lake: Lake) -> None:
    before = _sorted(lake.curated_rows("sales"))
    quarantine_before = len(lake.quarantine_rows("sales"))
    again = lake.run("sales")
    assert _sorted(lake.curated_rows("sales")) == before
    assert len(lake.quarantine_rows("sales")) == quarantine_before
    assert again.record() == lake.results["sales"].record()


def test_second_run_rewrites_only_touched_partitions(lake: Lake, tmp_path: Path) -> None:
    root = Path(lake.curated) / "transactions"
    untouched = {p: p.stat().st_mtime_ns for p in (root / "transaction_date=2024-03-01").rglob("*.parquet")}
    newer = [
        {**fx.TRANSACTION_ROWS[2], "quantity": 4, "updated_at": datetime(2024, 3, 3, 9, tzinfo=UTC)},  # key 2 again
        {**fx.TRANSACTION_ROWS[0], "transaction_id": 9, "transaction_date": date(2024, 3, 4)},
        {**fx.TRANSACTION_ROWS[2], "quantity": 1, "updated_at": datetime(2024, 2, 1, tzinfo=UTC)},  # stale version
    ]
    later = datetime(2024, 3, 4, 6, tzinfo=UTC)
    item, _ = write_raw(
        lake.root,
        "transactions",
        "run-2",
        "parquet",
        [fx.table(newer, fx.TRANSACTION_SCHEMA)],
        ingest_date=date(2024, 3, 4),
        created_at=later,
    )
    result = lake.run("transactions", "run-2", (item,))
    assert result.partitions == ["2024-03-02", "2024-03-04"]
    assert (result.raw_rows, result.curated_rows, result.quarantined_rows, result.duplicate_rows) == (3, 2, 0, 1)
    rows = {r["transaction_id"]: r for r in lake.curated_rows("transactions")}
    assert rows[2]["quantity"] == 4 and rows[2]["_run_id"] == "run-2"
    assert rows[9]["transaction_date"] == date(2024, 3, 4)
    assert len(rows) == len(expected("transactions").accepted) + 1
    assert {p: p.stat().st_mtime_ns for p in (root / "transaction_date=2024-03-01").rglob("*.parquet")} == untouched
