"""Faults of the Iceberg write path, each with its outcome asserted: a crash between the data write and the publish,
two jobs committing to one table at once, an update moving a key to another date partition, and an old window run
again after newer runs."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pyspark.sql import SparkSession

from dataplatform.config import PipelineConfig
from dataplatform.local import moto_patches
from dataplatform.transform import curated_tables
from dataplatform.transform.curated_tables import MainMovedError
from tests.spark import fixtures as fx
from tests.spark.iceberg_lake import AwsClients, IcebergLake

pytestmark = pytest.mark.faults

HEADER = fx.SALES_HEADER
SCHEMA = fx.TRANSACTION_SCHEMA
LAKES = itertools.count()


def _sale(key: str, day: str, quantity: str = "1", price: str = "2.00") -> list[str]:
    return [key, "101", "10", quantity, price, "USD", day, "North"]


@pytest.fixture
def lake(spark: SparkSession, aws: AwsClients, config: PipelineConfig) -> IcebergLake:
    """A lake of its own per test (its own Glue database), so each test sees only its own runs."""
    return IcebergLake(spark, aws, config, f"faults{next(LAKES)}")


def _keys(rows: list[dict[str, Any]], key: str) -> list[Any]:
    return sorted(r[key] for r in rows)


def test_a_crash_before_the_publish_shows_nothing_and_the_rerun_publishes_once(
    lake: IcebergLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake.run("sales", "c-1", (lake.raw("sales", "c-1", "csv.gz", [(HEADER, [_sale("S1", "2024-03-01")])]),))
    published = lake.refs("sales")["main"], lake.refs("sales_quarantine")["main"]
    rows = [_sale("S1", "2024-03-01", quantity="3"), _sale("S2", "2024-03-02"), _sale("bad", "2024-03-02")]
    item = lake.raw("sales", "c-2", "csv.gz", [(HEADER, rows)], created_at=datetime(2024, 3, 2, tzinfo=UTC))

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the job died between its quarantine write and its MERGE")

    monkeypatch.setattr(curated_tables, "merge_on_key", crash)
    with pytest.raises(RuntimeError, match="job died"):
        lake.stage("sales", "c-2", (item,))
    monkeypatch.undo()
    assert (lake.refs("sales")["main"], lake.refs("sales_quarantine")["main"]) == published  # nothing visible
    assert [(r["transaction_id"], r["quantity"]) for r in lake.rows("sales")] == [("S1", 1)]

    result = lake.run("sales", "c-2", (item,))  # the run started again
    assert (result.curated_rows, result.quarantined_rows, result.duplicate_rows) == (2, 1, 0)
    assert sorted((r["transaction_id"], r["quantity"]) for r in lake.rows("sales")) == [("S1", 3), ("S2", 1)]
    assert _keys(lake.quarantine_rows("sales", "c-2"), "transaction_id") == ["bad"]  # once, not twice


def test_a_first_run_staged_again_before_anything_was_published(lake: IcebergLake) -> None:
    """A first run that failed after staging (its assertions, say) leaves its branch on tables whose main has no
    snapshot; the run started again replaces that branch."""
    item = lake.raw("sales", "f-1", "csv.gz", [(HEADER, [_sale("S1", "2024-03-01"), _sale("bad", "2024-03-01")])])
    lake.stage("sales", "f-1", (item,))
    assert "main" not in lake.refs("sales")
    again = lake.run("sales", "f-1", (item,))
    assert (again.curated_rows, again.quarantined_rows) == (1, 1)
    assert _keys(lake.rows("sales"), "transaction_id") == ["S1"]
    assert _keys(lake.quarantine_rows("sales", "f-1"), "transaction_id") == ["bad"]


@pytest.fixture
def both_commits_meet() -> Iterator[dict[str, int]]:
    """Holds the next two Glue UpdateTable calls until both arrived: both writers read the same table version."""
    barrier = threading.Barrier(2, timeout=300)
    seen = {"held": 0, "rejected_before": moto_patches.STATE.rejected}
    lock = threading.Lock()

    def hold() -> None:
        with lock:
            seen["held"] += 1
            mine = seen["held"]
        if mine <= 2:
            barrier.wait()

    moto_patches.STATE.before_update = hold
    try:
        yield seen
    finally:
        moto_patches.STATE.before_update = None


def test_two_jobs_committing_to_one_table_at_once_both_land(
    lake: IcebergLake, both_commits_meet: dict[str, int]
) -> None:
    lake.run("sales", "t-0", (lake.raw("sales", "t-0", "csv.gz", [(HEADER, [_sale("S10", "2024-04-01")])]),))
    items = {
        run: lake.raw("sales", run, "csv.gz", [(HEADER, [_sale(key, day), _sale(f"x{key}", day)])])
        for run, key, day in (("t-a", "S11", "2024-04-02"), ("t-b", "S12", "2024-04-03"))
    }
    results: dict[str, Any] = {}
    errors: list[BaseException] = []

    def stage(run: str) -> None:
        try:
            results[run] = lake.stage("sales", run, (items[run],))
        except BaseException as exc:  # reported by the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=stage, args=(run,)) for run in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=900)
    assert not errors, "\n".join(str(e)[:3000] for e in errors)
    # Glue refused one of the two commits (stale VersionId); Iceberg refreshed and retried it: both landed.
    assert moto_patches.STATE.rejected > both_commits_meet["rejected_before"]
    for run, key in (("t-a", "S11"), ("t-b", "S12")):
        assert _keys(lake.rows("sales", run_id=run), "transaction_id") == ["S10", key]
        assert _keys(lake.rows("sales_quarantine", run_id=run), "transaction_id") == [f"x{key}"]

    lake.publish("t-a", results["t-a"])
    with pytest.raises(MainMovedError, match="main moved since this run staged; start the run again"):
        lake.publish("t-b", results["t-b"])
    assert _keys(lake.rows("sales"), "transaction_id") == ["S10", "S11"]  # t-b published nothing
    lake.run("sales", "t-b", (items["t-b"],))  # started again: staged on the new main
    assert _keys(lake.rows("sales"), "transaction_id") == ["S10", "S11", "S12"]
    assert _keys(lake.quarantine_rows("sales"), "transaction_id") == ["xS11", "xS12"]


def test_an_update_moving_a_key_to_another_partition_leaves_one_row(lake: IcebergLake) -> None:
    first = [{**fx.TRANSACTION_ROWS[0], "transaction_id": 77, "transaction_date": date(2024, 1, 31)}]
    lake.run(
        "transactions", "m-1", (lake.raw("transactions", "m-1", "parquet", [fx.table(first, fx.TRANSACTION_SCHEMA)]),)
    )
    moved = [{**first[0], "transaction_date": date(2024, 2, 1), "updated_at": datetime(2024, 3, 5, tzinfo=UTC)}]
    item = lake.raw(
        "transactions", "m-2", "parquet", [fx.table(moved, SCHEMA)],
        created_at=datetime(2024, 3, 5, tzinfo=UTC),
    )  # fmt: skip
    lake.run("transactions", "m-2", (item,))
    assert [r["transaction_date"] for r in lake.rows("transactions") if r["transaction_id"] == 77] == [date(2024, 2, 1)]


def test_an_old_window_run_again_after_newer_runs_resurrects_nothing(lake: IcebergLake) -> None:
    def customers(name: str, updated: str) -> list[dict[str, Any]]:
        return [{"Customer_ID": 500, "Customer_Name": name, "Age": 30, "Gender": "Female", "Location": "Berlin",
                 "Date_Joined": "2023-01-05", "updated_at": updated}]  # fmt: skip

    old = lake.raw("customers", "w-old", "jsonl.gz", [customers("Old", "2024-01-01T00:00:00Z")],
                   created_at=datetime(2024, 1, 2, tzinfo=UTC))  # fmt: skip
    new = lake.raw("customers", "w-new", "jsonl.gz", [customers("New", "2024-02-01T00:00:00Z")],
                   created_at=datetime(2024, 2, 2, tzinfo=UTC))  # fmt: skip
    lake.run("customers", "w-old", (old,))
    lake.run("customers", "w-new", (new,))
    again = lake.run("customers", "w-old", (old,))
    assert (again.raw_rows, again.curated_rows, again.duplicate_rows) == (1, 0, 1)  # lost to the stored version
    assert [(r["customer_id"], r["customer_name"]) for r in lake.rows("customers")] == [(500, "New")]
