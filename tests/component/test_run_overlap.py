"""Runs that overlap (issue 14): two executions of one window, a killed ingest call, parts that changed under the
manifest. Each test is also a fault record (tests/faults_support.py)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from ingest_support import (  # noqa: F401
    LAKE,
    aws_module,
    body,
    config,
    dataset,
    jsonl_rows,
    keys,
    manifest,
    request,
    s3_fixture,
)

from dataplatform.ingest import run_ingest
from dataplatform.ingest.base import IngestRequest, Progress, TimeBudget
from dataplatform.ingest.raw_writer import RawPartMismatchError, RawWriter
from dataplatform.lease import INGEST_TTL, RUN_TTL, LeaseHeldError, LeaseLostError, LeaseStore
from dataplatform.state import commit
from dataplatform.workflow.audit import write_audit

HEADER = "Transaction_ID,Customer_ID,Product_ID,Quantity,Price,Currency,Transaction_Date\n"
ONE_FILE_PER_CALL = TimeBudget(lambda: 0.0, margin_s=1.0)
"""Always exhausted: the CSV source stores one file per call and returns a continuation cursor."""


def land_sales(s3: Any, count: int, rows_per_file: int = 1) -> int:
    for f in range(count):
        lines = "".join(f"S{f}{r:03d},1,1,1,1.00,USD,2024-01-02\n" for r in range(rows_per_file))
        s3.put_object(Bucket=LAKE.raw_bucket, Key=f"landing/sales/f{f}.csv", Body=(HEADER + lines).encode())
    return count * rows_per_file


def sales_request(owner: str, cursor: dict[str, Any] | None = None, run_id: str = "run-1") -> IngestRequest:
    return dataclasses.replace(request("sales", run_id, cursor), owner=owner)


def ingest(s3: Any, req: IngestRequest, budget: TimeBudget | None = None) -> Any:
    kwargs = {"budget": budget} if budget else {}
    return run_ingest(req, config=config(sales=dataset("sales")), lake=LAKE, s3=s3, **kwargs)


def finish(s3: Any, owner: str, result: Any) -> Any:
    while result.status == "continue":
        result = ingest(s3, sales_request(owner, result.cursor), ONE_FILE_PER_CALL)
    return result


@pytest.mark.faults
def test_second_execution_of_a_window_is_refused_while_the_first_ingests(s3: Any, fault: Any) -> None:
    offered = land_sales(s3, 3)
    first = ingest(s3, sales_request("exec-a"), ONE_FILE_PER_CALL)
    assert first.status == "continue"
    parts_before = keys(s3, LAKE.raw_bucket, "raw/sales/")

    with pytest.raises(LeaseHeldError, match=r"dataset 'sales'.*execution exec-a.*execution exec-b changed nothing"):
        ingest(s3, sales_request("exec-b"))
    assert keys(s3, LAKE.raw_bucket, "raw/sales/") == parts_before  # the second execution cleared nothing

    done = finish(s3, "exec-a", first)
    m = manifest(s3, done.manifest_uri)
    sources = [f["source"] for f in m["files"]]
    assert len(sources) == len(set(sources)) == 3
    fault.injected("overlap: two executions of one window", rows_in=offered, rows_out=m["rows"])


@pytest.mark.faults
def test_same_execution_retrying_a_fresh_start_keeps_its_lease(s3: Any, fault: Any) -> None:
    offered = land_sales(s3, 2)
    first = ingest(s3, sales_request("exec-a"), ONE_FILE_PER_CALL)
    assert first.status == "continue"
    # Step Functions retries the first call of the same execution (its Lambda died): it starts over.
    again = ingest(s3, sales_request("exec-a"))
    assert again.status == "done"
    lease, _ = LeaseStore(s3, LAKE).read("run-1", "sales")
    assert (lease.owner, lease.phase) == ("exec-a", "ingested")
    assert lease.expires_at - lease.renewed_at == RUN_TTL  # the run's later steps read this raw data
    fault.injected("overlap: first ingest call retried by its execution", rows_in=offered, rows_out=again.rows)


def test_an_expired_lease_is_taken_over_and_its_old_owner_stops(s3: Any) -> None:
    land_sales(s3, 2)
    first = ingest(s3, sales_request("exec-a"), ONE_FILE_PER_CALL)
    store = LeaseStore(s3, LAKE)
    lease, _ = store.read("run-1", "sales")
    expired = lease.model_copy(update={"expires_at": datetime.now(UTC) - timedelta(seconds=1)})
    s3.put_object(Bucket=LAKE.curated_bucket, Key=LAKE.lease_key("run-1", "sales"), Body=expired.model_dump_json())

    taken = ingest(s3, sales_request("exec-b"))  # exec-a was stopped without its failure path
    assert taken.status == "done" and taken.files == 2
    with pytest.raises(LeaseLostError, match=r"execution exec-a no longer holds the lease.*exec-b"):
        ingest(s3, sales_request("exec-a", first.cursor), ONE_FILE_PER_CALL)
    assert manifest(s3, taken.manifest_uri)["rows"] == 2


def test_a_released_lease_can_be_taken_by_a_later_execution(s3: Any) -> None:
    land_sales(s3, 1)
    ingest(s3, sales_request("exec-a"))
    store = LeaseStore(s3, LAKE)
    assert store.release("run-1", "sales", "exec-b") is False  # not exec-b's to release
    assert store.release("run-1", "sales", "exec-a") is True
    again = ingest(s3, sales_request("exec-b"))
    assert again.status == "done"
    assert store.read("run-1", "sales")[0].owner == "exec-b"


def test_racing_creators_of_one_lease_one_wins(s3: Any) -> None:
    store = LeaseStore(s3, LAKE)
    won = store.acquire("run-1", "sales", "exec-a", INGEST_TTL)
    # exec-b read "no lease" before exec-a's put landed: its create-if-absent put fails, naming the winner.
    reads = iter([(None, None)])
    real_read = store.read
    store.read = lambda run_id, ds: next(reads, None) or real_read(run_id, ds)  # type: ignore[method-assign]
    with pytest.raises(LeaseHeldError, match=r"execution exec-a"):
        store.acquire("run-1", "sales", "exec-b", INGEST_TTL)
    assert json.loads(body(s3, LAKE.curated_bucket, LAKE.lease_key("run-1", "sales")))["owner"] == won.owner


class SplitExtractor:
    """A source of `total` JSON records: part 0 in the first call, the rest in the next call in parts of `chunk`
    records; `die_after` parts into that call it dies as a Lambda timeout does (no cleanup runs)."""

    def __init__(self, total: int, chunk: int, die_after: int | None = None) -> None:
        self.total, self.chunk, self.die_after = total, chunk, die_after

    def _part(self, job: Any, ids: list[int]) -> None:
        stream = job.writer.open_gzip_part(job.next_part, "application/x-ndjson")
        for i in ids:
            stream.write(json.dumps({"id": i}).encode() + b"\n")
        job.part_written(job.writer.finish_stream_part(job.next_part, stream, len(ids)))

    def run(self, job: Any) -> Progress:
        if job.position is None:
            self._part(job, [0])
            return Progress(done=False, position={"at": 1})
        rest = list(range(job.position["at"], self.total))
        for n, start in enumerate(range(0, len(rest), self.chunk)):
            if self.die_after is not None and n == self.die_after:
                raise TimeoutError("Task timed out after 900.00 seconds")
            self._part(job, rest[start : start + self.chunk])
        return Progress(done=True, source_info={"kind": "rest"})


def customers_call(s3: Any, cursor: Any, extractor: SplitExtractor) -> Any:
    req = dataclasses.replace(request("customers", "run-1", cursor), owner="exec-a")
    cfg = config(customers=dataset("customers", base_url="https://api.example.test"))
    return run_ingest(req, config=cfg, lake=LAKE, s3=s3, extractor=extractor)


@pytest.mark.faults
def test_a_lambda_timeout_mid_call_leaves_no_part_in_the_manifest(
    s3: Any, fault: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    total = 9
    first = customers_call(s3, None, SplitExtractor(total, chunk=2))
    with monkeypatch.context() as killed:  # a timed-out Lambda is killed: its cleanup never runs
        killed.setattr(RawWriter, "discard_this_call", lambda self: None)
        with pytest.raises(TimeoutError):
            customers_call(s3, first.cursor, SplitExtractor(total, chunk=2, die_after=3))
    # Step Functions retries the call with the same cursor; this time the source pages differently.
    done = customers_call(s3, first.cursor, SplitExtractor(total, chunk=4))
    ids = [row["id"] for row in jsonl_rows(s3, manifest(s3, done.manifest_uri))]
    assert sorted(ids) == list(range(total))
    fault.injected("overlap: ingest Lambda timed out mid-call, call retried", rows_in=total, rows_out=len(ids))


@pytest.mark.faults
def test_a_part_changed_after_its_sidecar_stops_the_manifest(s3: Any, fault: Any) -> None:
    offered = land_sales(s3, 2)
    first = ingest(s3, sales_request("exec-a"), ONE_FILE_PER_CALL)
    part = next(k for k in keys(s3, LAKE.raw_bucket, "raw/sales/") if k.endswith(".csv.gz"))
    assert part.endswith("part-00000.csv.gz")
    s3.put_object(Bucket=LAKE.raw_bucket, Key=part, Body=b"written by another writer")
    with pytest.raises(RawPartMismatchError, match=r"part-00000.csv.gz: its sidecar says \d+ bytes.*25 bytes"):
        ingest(s3, sales_request("exec-a", first.cursor), ONE_FILE_PER_CALL)
    assert not [k for k in keys(s3, LAKE.raw_bucket, "raw/sales/") if k.endswith("_manifest.json")]
    again = ingest(s3, sales_request("exec-a"))  # Step Functions retries the dataset from a fresh start
    fault.injected("overlap: raw part overwritten by another writer", rows_in=offered, rows_out=again.rows)


def test_a_failed_run_releases_its_executions_leases_in_its_audit(s3: Any) -> None:
    land_sales(s3, 1)
    ingest(s3, sales_request("exec-a"))
    LeaseStore(s3, LAKE).acquire("run-1", "customers", "exec-z")  # another execution's: stays
    write_audit(
        s3, LAKE, run_id="run-1", datasets=["sales", "customers"], window={"start": "2024-01-01", "end": "2024-01-31"},
        status="FAILED", started_at=datetime.now(UTC), error={"step": "Ingest", "cause": "x"}, owner="exec-a",
    )  # fmt: skip
    store = LeaseStore(s3, LAKE)
    assert store.read("run-1", "sales")[0].released_at is not None
    assert store.read("run-1", "customers")[0].released_at is None
    assert ingest(s3, sales_request("exec-b")).status == "done"  # the window starts again at once


def expire_lease(s3: Any, run_id: str, dataset: str) -> None:
    """What time does to the lease of an execution that was stopped without its failure path."""
    lease, _ = LeaseStore(s3, LAKE).read(run_id, dataset)
    expired = lease.model_copy(update={"expires_at": datetime.now(UTC) - timedelta(seconds=1)})
    s3.put_object(Bucket=LAKE.curated_bucket, Key=LAKE.lease_key(run_id, dataset), Body=expired.model_dump_json())


@pytest.mark.faults
def test_an_execution_stopped_between_ingest_and_commit_then_the_window_again(s3: Any, fault: Any) -> None:
    offered = land_sales(s3, 3, rows_per_file=2)
    stopped = ingest(s3, sales_request("exec-a"))
    assert stopped.rows == offered
    expire_lease(s3, "run-1", "sales")  # exec-a never reached commit_state nor its failure path

    again = ingest(s3, sales_request("exec-b"))
    committed = commit(s3, LAKE, "run-1", ["sales"], owner="exec-b")
    m = manifest(s3, again.manifest_uri)
    assert committed["sales"] is not None and LeaseStore(s3, LAKE).read("run-1", "sales")[0].released_at
    assert len(m["files"]) == 3  # the stopped attempt's parts were replaced, not added to
    fault.injected(
        "crash between steps: execution stopped after ingest, window started again", rows_in=offered, rows_out=m["rows"]
    )


@pytest.mark.faults
def test_a_window_started_again_after_its_commit_changes_nothing(s3: Any, fault: Any) -> None:
    offered = land_sales(s3, 2, rows_per_file=3)
    first = ingest(s3, sales_request("exec-a"))
    commit(s3, LAKE, "run-1", ["sales"], owner="exec-a")  # the audit step never ran: the execution died here
    parts = keys(s3, LAKE.raw_bucket, "raw/sales/")
    land_sales(s3, 2, rows_per_file=3)  # the same files landed again, unchanged (same ETags)

    again = ingest(s3, sales_request("exec-b"))
    assert commit(s3, LAKE, "run-1", ["sales"], owner="exec-b") == commit(s3, LAKE, "run-1", ["sales"])
    assert keys(s3, LAKE.raw_bucket, "raw/sales/") == parts and again.manifest_uri == first.manifest_uri
    fault.injected(
        "crash between steps: commit done, audit never written, window again", rows_in=offered, rows_out=again.rows
    )


@pytest.mark.faults
def test_a_part_written_after_its_execution_lost_the_lease_stops_the_manifest(s3: Any, fault: Any) -> None:
    offered = land_sales(s3, 2)
    ingest(s3, sales_request("exec-a"), ONE_FILE_PER_CALL)
    expire_lease(s3, "run-1", "sales")  # exec-a's run was stopped while one of its ingest calls still ran

    def zombie_writes(raw_file: Any) -> None:
        """... and that call of exec-a, still running, stores its copy of a file into the prefix exec-b writes."""
        zombie = RawWriter(s3, LAKE, "sales", date(2024, 2, 1), "run-1", "csv.gz", owner="exec-a")
        stream = zombie.open_gzip_part(7, "text/csv")
        stream.write(body(s3, LAKE.raw_bucket, "landing/sales/f1.csv"))
        zombie.finish_stream_part(7, stream, 1)

    req = sales_request("exec-b")
    with pytest.raises(RawPartMismatchError, match=r"part-00007.csv.gz was written by execution exec-a, not exec-b"):
        run_ingest(req, config=config(sales=dataset("sales")), lake=LAKE, s3=s3, on_part=zombie_writes)
    assert not [k for k in keys(s3, LAKE.raw_bucket, "raw/sales/") if k.endswith("_manifest.json")]
    # The window started again once exec-b's failure path released its lease: every offered row, once.
    LeaseStore(s3, LAKE).release("run-1", "sales", "exec-b")
    again = ingest(s3, sales_request("exec-c"))
    fault.injected(
        "overlap: a stopped execution's call writes after losing its lease", rows_in=offered, rows_out=again.rows
    )
