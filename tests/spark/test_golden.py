"""Golden runs of the five reference datasets (pipeline.yaml contracts): fixture in, exact rows out.

Expected rows come from tests/spark/reference.py (plain Python over the same fixture values). One lake per
module: exchange_rates first (the others convert through it), then the rest; later tests re-run and update.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pyspark.sql import SparkSession

from dataplatform.config import PipelineConfig
from dataplatform.transform.standardize_dataset import StandardizeResult
from tests.spark import fixtures as fx
from tests.spark.iceberg_lake import CREATED, AwsClients, IcebergLake
from tests.spark.reference import Outcome, RawRow, run_contract

META = ("_ingest_date", "_ingested_at", "_run_id")


class Lake(IcebergLake):
    """The golden lake: one published run-1 of every dataset."""

    def __init__(self, spark: SparkSession, aws: AwsClients, config: PipelineConfig) -> None:
        super().__init__(spark, aws, config, "golden")
        self.inputs: dict[str, Any] = {}
        self.results: dict[str, StandardizeResult] = {}

    def curated_rows(self, dataset: str) -> list[dict[str, Any]]:
        return self.rows(dataset)


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
def lake(spark: SparkSession, aws: AwsClients, config: PipelineConfig) -> Lake:
    lake = Lake(spark, aws, config)
    lake.inputs["exchange_rates"] = lake.raw("exchange_rates", "run-1", "jsonl.gz", [fx.RATES])
    lake.inputs["sales"] = lake.raw(
        "sales",
        "run-1",
        "csv.gz",
        [(fx.SALES_HEADER, part) for part in fx.SALES_PARTS],
        source={"encoding": "utf-8", "delimiter": ","},
    )
    lake.inputs["transactions"] = lake.raw(
        "transactions", "run-1", "parquet", [fx.table(fx.TRANSACTION_ROWS, fx.TRANSACTION_SCHEMA)]
    )
    lake.inputs["customers"] = lake.raw("customers", "run-1", "jsonl.gz", [fx.CUSTOMERS])
    lake.inputs["products"] = lake.raw("products", "run-1", "parquet", [fx.table(fx.PRODUCT_ROWS, fx.PRODUCT_SCHEMA)])
    # Waves as the workflow runs them: the rates first (staged, read by the later wave from the branch), then the
    # rest; one publish for the whole run.
    lake.results["exchange_rates"] = lake.stage("exchange_rates", "run-1", (lake.inputs["exchange_rates"],))
    for dataset in ("sales", "transactions", "customers", "products"):
        lake.results[dataset] = lake.stage(dataset, "run-1", (lake.inputs[dataset],))
    lake.publish("run-1", *lake.results.values())
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
        for row in lake.quarantine_rows(dataset, "run-1")
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
    assert result.quarantined_rows == len(lake.quarantine_rows(dataset, "run-1")) == len(want.quarantined)
    assert result.duplicate_rows == want.duplicates
    record = result.record()
    assert set(record) >= {"dataset", "run_id", "raw_rows", "curated_rows", "quarantined_rows", "duplicate_rows",
                           "status", "branch", "staged_snapshot_id", "main_snapshot_id"}  # fmt: skip
    # What the run staged is what the publish made current (main was empty before: nothing to compare against).
    assert record["branch"] == "run_run_1" and record["main_snapshot_id"] is None
    assert lake.refs(dataset)["main"] == record["staged_snapshot_id"]


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
    quarantine = {r["transaction_id"]: r for r in lake.quarantine_rows("sales", "run-1")}
    s5 = quarantine["S5"]
    assert {(r["column"], r["value"]) for r in s5["reasons"]} == {("price", "abc"), ("transaction_date", "2024/03/01")}
    assert s5["reason"] == "price:cast; transaction_date:cast"
    assert s5["source_file"].endswith("part-00000.csv.gz")


def test_tables_are_iceberg_v2_with_hidden_partitioning_created_by_the_job(lake: Lake) -> None:
    glue = lake.aws.glue.get_table(DatabaseName=lake.database, Name="sales")["Table"]
    assert glue["Parameters"]["table_type"] == "ICEBERG"
    location = glue["Parameters"]["metadata_location"]
    assert location.startswith(f"{lake.curated_root}sales/metadata/") and location.endswith(".metadata.json")
    assert not glue.get("PartitionKeys")  # hidden partitioning: nothing for a reader to register
    properties = {r["key"]: r["value"] for r in lake.spark.sql(f"SHOW TBLPROPERTIES {lake.ident('sales')}").collect()}
    assert properties["format-version"] == "2" and properties["write.merge.mode"] == "merge-on-read"
    assert properties["vacuum_max_snapshot_age_seconds"] == "604800"
    sales_days = lake.spark.sql(f"SELECT partition.transaction_date_day AS p FROM {lake.ident('sales')}.partitions")
    assert sorted(r["p"] for r in sales_days.collect()) == [date(2024, 3, d) for d in (1, 2, 3, 5)]
    # customers are partitioned by join month: months since 1970 (2023-05 .. 2023-10 -> 640 .. 645), not by day.
    months = lake.spark.sql(f"SELECT partition.date_joined_month AS p FROM {lake.ident('customers')}.partitions")
    joined = {r["date_joined"] for r in lake.curated_rows("customers")}
    assert sorted(r["p"] for r in months.collect()) == sorted({(d.year - 1970) * 12 + d.month - 1 for d in joined})
    quarantine = lake.aws.glue.get_table(DatabaseName=lake.database, Name="sales_quarantine")["Table"]
    assert quarantine["Parameters"]["table_type"] == "ICEBERG"
    assert quarantine["Parameters"]["metadata_location"].startswith(f"{lake.quarantine_root}sales/metadata/")


def test_rerun_same_run_leaves_the_same_rows(lake: Lake) -> None:
    before = _sorted(lake.curated_rows("sales"))
    quarantine_before = _sorted(lake.quarantine_rows("sales"))
    again = lake.run("sales", "run-1", (lake.inputs["sales"],))
    assert _sorted(lake.curated_rows("sales")) == before
    assert _sorted(lake.quarantine_rows("sales")) == quarantine_before  # replaced, not added to
    counts = ("raw_rows", "curated_rows", "quarantined_rows", "duplicate_rows")
    assert [again.record()[k] for k in counts] == [lake.results["sales"].record()[k] for k in counts]


def _data_files(lake: Lake, table: str) -> set[str]:
    return {r["file_path"] for r in lake.spark.sql(f"SELECT file_path FROM {lake.ident(table)}.data_files").collect()}


def test_a_later_run_merges_on_the_key_and_an_update_may_move_a_row(lake: Lake) -> None:
    files_before = _data_files(lake, "transactions")
    newer = [
        # key 2 again, newer, moved from 2024-03-02 to 2024-03-04
        {**fx.TRANSACTION_ROWS[2], "quantity": 4, "transaction_date": date(2024, 3, 4),
         "updated_at": datetime(2024, 3, 3, 9, tzinfo=UTC)},
        {**fx.TRANSACTION_ROWS[0], "transaction_id": 9, "transaction_date": date(2024, 3, 4)},
        {**fx.TRANSACTION_ROWS[2], "quantity": 1, "updated_at": datetime(2024, 2, 1, tzinfo=UTC)},  # stale version
    ]  # fmt: skip
    later = datetime(2024, 3, 4, 6, tzinfo=UTC)
    item = lake.raw(
        "transactions", "run-2", "parquet", [fx.table(newer, fx.TRANSACTION_SCHEMA)],
        ingest_date=date(2024, 3, 4), created_at=later,
    )  # fmt: skip
    result = lake.run("transactions", "run-2", (item,))
    assert (result.raw_rows, result.curated_rows, result.quarantined_rows, result.duplicate_rows) == (3, 2, 0, 1)
    rows = lake.curated_rows("transactions")
    assert [r["transaction_date"] for r in rows if r["transaction_id"] == 2] == [date(2024, 3, 4)]  # one row
    by_key = {r["transaction_id"]: r for r in rows}
    assert len(rows) == len(by_key) == len(expected("transactions").accepted) + 1
    assert by_key[2]["quantity"] == 4 and by_key[2]["_run_id"] == "run-2"
    assert by_key[9]["transaction_date"] == date(2024, 3, 4)
    # Merge-on-read: no data file was rewritten; the old version of key 2 is masked by a position delete.
    assert files_before <= _data_files(lake, "transactions")
