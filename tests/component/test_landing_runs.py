"""Landing-triggered runs (issue 14): each landing event is its own run, which ingests what landed since the last
committed one (a file dropped at 14:00 after one at 10:00 the same day is not answered with the 10:00 manifest)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from ingest_support import LAKE, aws_module, config, dataset, manifest, s3_fixture  # noqa: F401

from dataplatform.ingest import run_ingest
from dataplatform.ingest.base import IngestRequest
from dataplatform.state import StateConflictError, StateStore, commit, committed_by
from dataplatform.workflow.run import resolve_run

HEADER = "Transaction_ID,Customer_ID,Product_ID,Quantity,Price,Currency,Transaction_Date\n"
CONFIG = config(sales=dataset("sales"))


def land(s3: Any, name: str, rows: int) -> int:
    lines = "".join(f"S{abs(hash(name)) % 1000}{r:03d},1,1,1,1.00,USD,2024-01-02\n" for r in range(rows))
    s3.put_object(Bucket=LAKE.raw_bucket, Key=f"landing/sales/{name}", Body=(HEADER + lines).encode())
    return rows


def landing_input(key: str, at: datetime, event_id: str) -> dict[str, Any]:
    """What the landing rule (infra/triggers.py) sends for an S3 Object Created event."""
    return {"datasets": ["sales"], "landing": {"event_id": event_id, "time": at.isoformat(), "key": key}}


def landing_run(s3: Any, key: str, at: datetime, event_id: str, execution: str) -> tuple[str, Any]:
    """resolve_run, then ingest and commit the run's one dataset, as the workflow does."""
    run = resolve_run(CONFIG, LAKE, landing_input(key, at, event_id), at)
    request = IngestRequest(
        dataset="sales",
        run_id=run["run_id"],
        window_start=date.fromisoformat(run["window"]["start"]),
        window_end=date.fromisoformat(run["window"]["end"]),
        ingest_date=date.fromisoformat(run["ingest_date"]),
        owner=execution,
    )
    result = run_ingest(request, config=CONFIG, lake=LAKE, s3=s3)
    commit(s3, LAKE, run["run_id"], ["sales"], owner=execution)
    return run["run_id"], result


@pytest.mark.faults
def test_a_file_landed_at_14_is_ingested_by_the_14_landing_run(s3: Any, fault: Any) -> None:
    morning = land(s3, "morning.csv", 2)
    first_id, first = landing_run(s3, "landing/sales/morning.csv", datetime(2024, 2, 1, 10, tzinfo=UTC), "ev-10", "x1")
    afternoon = land(s3, "afternoon.csv", 3)
    second_id, second = landing_run(
        s3, "landing/sales/afternoon.csv", datetime(2024, 2, 1, 14, tzinfo=UTC), "ev-14", "x2"
    )

    assert second_id != first_id
    assert [f["source"].rsplit("/", 1)[1] for f in manifest(s3, second.manifest_uri)["files"]] == ["afternoon.csv"]
    assert first.rows == morning
    fault.bad_input(
        "landing: second file of the day, landing-triggered run",
        rows_in=morning + afternoon,
        rows_out=first.rows + second.rows,
    )


def test_one_landing_event_always_resolves_to_the_same_run() -> None:
    at = datetime(2024, 2, 1, 14, 0, 7, tzinfo=UTC)
    started = datetime(2024, 2, 1, 14, 0, 9, tzinfo=UTC)
    once = resolve_run(CONFIG, LAKE, landing_input("landing/sales/a.csv", at, "ev-1"), started)
    again = resolve_run(CONFIG, LAKE, landing_input("landing/sales/a.csv", at, "ev-1"), started.replace(minute=30))
    other = resolve_run(CONFIG, LAKE, landing_input("landing/sales/b.csv", at, "ev-2"), started)
    assert once["run_id"] == again["run_id"] != other["run_id"]  # a re-started event reuses its run (and lease)
    assert "-landing-20240201T140007Z-" in once["run_id"]
    scheduled = resolve_run(CONFIG, LAKE, {"datasets": ["sales"]}, started)
    assert scheduled["run_id"] == once["run_id"].split("-landing-")[0]  # the window's run, as before


def test_a_landing_trigger_without_a_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match=r"landing.*time"):
        resolve_run(CONFIG, LAKE, landing_input("k", datetime(2024, 2, 1, 14), "ev"), datetime.now(UTC))


def ingest_only(s3: Any, key: str, at: datetime, event_id: str, execution: str) -> tuple[str, Any]:
    run = resolve_run(CONFIG, LAKE, landing_input(key, at, event_id), at)
    request = IngestRequest(
        dataset="sales",
        run_id=run["run_id"],
        window_start=date.fromisoformat(run["window"]["start"]),
        window_end=date.fromisoformat(run["window"]["end"]),
        ingest_date=date.fromisoformat(run["ingest_date"]),
        owner=execution,
    )
    return run["run_id"], run_ingest(request, config=CONFIG, lake=LAKE, s3=s3)


@pytest.mark.faults
def test_overlapping_landing_runs_of_a_burst_commit_once_and_lose_nothing(s3: Any, fault: Any) -> None:
    at = datetime(2024, 2, 1, 14, tzinfo=UTC)
    offered = land(s3, "a.csv", 2) + land(s3, "b.csv", 3)
    # Both files land within a second: two executions, both list both files before either commits.
    run_a, a = ingest_only(s3, "landing/sales/a.csv", at, "ev-a", "xa")
    run_b, b = ingest_only(s3, "landing/sales/b.csv", at, "ev-b", "xb")
    assert a.files == b.files == 2

    assert commit(s3, LAKE, run_a, ["sales"], owner="xa") == {
        "sales": manifest(s3, a.manifest_uri)["watermark"]["proposed"]
    }
    assert commit(s3, LAKE, run_b, ["sales"], owner="xb") == {}  # superseded: nothing of its own to commit
    assert StateStore(s3, LAKE).read("sales")[0].run_id == run_a
    assert committed_by(s3, LAKE, run_b, "sales") == (False, None)  # what run b's audit line will say

    _, later = landing_run(s3, "landing/sales/c.csv", at.replace(hour=15), "ev-c", "xc")
    assert later.files == 0  # nothing landed since: a and b are not ingested a third time
    fault.injected("landing: two landing runs of one burst overlap", rows_in=offered, rows_out=a.rows + later.rows)


@pytest.mark.faults
def test_a_file_only_the_losing_landing_run_saw_is_ingested_by_the_next_one(s3: Any, fault: Any) -> None:
    at = datetime(2024, 2, 1, 14, tzinfo=UTC)
    offered = land(s3, "a.csv", 2)
    run_a, a = ingest_only(s3, "landing/sales/a.csv", at, "ev-a", "xa")
    offered += land(s3, "b.csv", 3)  # lands after run a listed landing
    run_b, b = ingest_only(s3, "landing/sales/b.csv", at, "ev-b", "xb")
    assert (a.files, b.files) == (1, 2)
    commit(s3, LAKE, run_a, ["sales"], owner="xa")
    with pytest.raises(StateConflictError, match=rf"'sales'.*written by run {run_a}"):
        commit(s3, LAKE, run_b, ["sales"], owner="xb")  # b.csv is its own: a real conflict, the run fails

    _, later = landing_run(s3, "landing/sales/c.csv", at.replace(hour=15), "ev-c", "xc")
    assert [f["source"].rsplit("/", 1)[1] for f in manifest(s3, later.manifest_uri)["files"]] == ["b.csv"]
    fault.injected("landing: a file only the failed overlapping run saw", rows_in=offered, rows_out=a.rows + later.rows)
