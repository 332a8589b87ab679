"""Overlapping windows (issue 14): a run commits the watermarks of all its datasets or of none, and its audit says
exactly which datasets' states are its own."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from ingest_support import LAKE, aws_module, body, s3_fixture  # noqa: F401

from dataplatform.lease import LeaseStore
from dataplatform.manifest import RawFile, RawManifest, Watermark
from dataplatform.state import DatasetState, StateConflictError, StateStore, check_commit, commit
from dataplatform.workflow.audit import write_audit

DATASETS = ["alpha", "beta", "gamma", "delta"]
INGEST_DATE = date(2024, 2, 1)
STARTED = datetime(2024, 2, 1, 6, tzinfo=UTC)


def ingested(s3: Any, run_id: str, dataset: str, previous: str | None, proposed: str | None, rows: int = 0) -> None:
    """What a finished ingest leaves: the manifest and runs/<run>/<dataset>/ingest.json pointing at it."""
    key = LAKE.manifest_key(dataset, INGEST_DATE, run_id)
    files = [
        RawFile(key=f"{key}.part", rows=rows, bytes=1, sha256="0" * 64, source=f"s3://x/{dataset}", source_etag="e")
    ]
    manifest = RawManifest(
        dataset=dataset,
        run_id=run_id,
        ingest_date=INGEST_DATE,
        format="jsonl.gz",
        source={"kind": "rest"},
        files=files if rows else [],
        rows=rows,
        bytes=1 if rows else 0,
        watermark=Watermark(previous=previous, proposed=proposed),
        created_at=STARTED,
    )
    s3.put_object(Bucket=LAKE.raw_bucket, Key=key, Body=manifest.to_json().encode())
    record = {"status": "done", "manifest_uri": f"s3://{LAKE.raw_bucket}/{key}", "rows": rows}
    s3.put_object(Bucket=LAKE.curated_bucket, Key=LAKE.run_step_key(run_id, dataset, "ingest"), Body=json.dumps(record))


def states(s3: Any) -> dict[str, tuple[str | None, str | None]]:
    store = StateStore(s3, LAKE)
    out = {}
    for dataset in DATASETS:
        state, _ = store.read(dataset)
        out[dataset] = (state.watermark, state.run_id) if state else (None, None)
    return out


def left_for_the_next_run(s3: Any, rows: dict[str, int]) -> int:
    """Rows of the run's landing files that no commit marked processed: the next run offers them again."""
    store = StateStore(s3, LAKE)
    return sum(n for d, n in rows.items() if not store.is_processed(d, f"s3://x/{d}", "e"))


def audit(s3: Any, run_id: str, status: str) -> dict[str, dict[str, Any]]:
    uris = write_audit(
        s3, LAKE, run_id=run_id, datasets=DATASETS, window={"start": "2024-01-31", "end": "2024-01-31"},
        status=status, started_at=STARTED, error={"step": "CommitState", "cause": "x"} if status == "FAILED" else None,
    )  # fmt: skip
    records = [json.loads(body(s3, LAKE.curated_bucket, uri.split("/", 3)[3])) for uri in uris]
    return {r["dataset"]: r for r in records}


@pytest.mark.faults
def test_a_conflict_on_the_fourth_dataset_commits_none(s3: Any, fault: Any) -> None:
    rows = {d: n + 1 for n, d in enumerate(DATASETS)}
    for dataset in DATASETS:
        ingested(s3, "run-b", dataset, None, f"{dataset}-w1", rows=rows[dataset])
    # run-a (an overlapping window) committed delta after run-b started from delta's empty state.
    StateStore(s3, LAKE).write(DatasetState(dataset="delta", watermark="d-a", run_id="run-a", updated_at=STARTED), None)
    before = states(s3)

    with pytest.raises(StateConflictError, match=r"'delta'.*written by run run-a"):
        check_commit(s3, LAKE, "run-b", DATASETS)  # what publish asks before it makes anything visible
    with pytest.raises(
        StateConflictError, match=r"'delta'.*written by run run-a.*no dataset of this run was committed"
    ):
        commit(s3, LAKE, "run-b", DATASETS)
    assert states(s3) == before

    records = audit(s3, "run-b", "FAILED")
    assert {d: (r["state_committed"], r["watermark_committed"]) for d, r in records.items()} == {
        d: (False, None) for d in DATASETS
    }
    offered = sum(rows.values())
    fault.injected(
        "commit: conflict on the fourth of four datasets", rows_in=offered, rows_out=left_for_the_next_run(s3, rows)
    )


@pytest.mark.faults
def test_losing_a_race_midway_puts_back_what_was_written(s3: Any, fault: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = {d: 2 * n + 1 for n, d in enumerate(DATASETS)}
    for dataset in DATASETS:
        ingested(s3, "run-b", dataset, None, f"{dataset}-w1", rows=rows[dataset])
    StateStore(s3, LAKE).write(DatasetState(dataset="alpha", updated_at=STARTED), None)  # exists, no watermark
    before = states(s3)
    real_write = StateStore.write

    def racing_write(self: StateStore, state: DatasetState, etag: str | None) -> str:
        if state.dataset == "gamma" and state.run_id == "run-b":  # another run's put lands between check and put
            real_write(self, DatasetState(dataset="gamma", watermark="g-c", run_id="run-c", updated_at=STARTED), etag)
        return real_write(self, state, etag)

    monkeypatch.setattr(StateStore, "write", racing_write)
    with pytest.raises(StateConflictError, match=r"'gamma'") as caught:
        commit(s3, LAKE, "run-b", DATASETS)
    assert "commit of run run-b undone: no dataset committed" in caught.value.__notes__
    assert {d: v for d, v in states(s3).items() if d != "gamma"} == {d: v for d, v in before.items() if d != "gamma"}
    assert states(s3)["gamma"] == ("g-c", "run-c")
    assert not any(r["state_committed"] for r in audit(s3, "run-b", "FAILED").values())
    fault.injected(
        "commit: another run's put lands between the check and the put",
        rows_in=sum(rows.values()),
        rows_out=left_for_the_next_run(s3, rows),
    )


class Killed(BaseException):
    """The commit Lambda dies (timeout, out of memory): no Python cleanup runs."""


@pytest.mark.faults
def test_a_commit_killed_midway_is_reported_exactly_and_finished_by_the_retry(
    s3: Any, fault: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = {d: n + 1 for n, d in enumerate(DATASETS)}
    for dataset in DATASETS:
        ingested(s3, "run-b", dataset, None, f"{dataset}-w1", rows=rows[dataset])
    LeaseStore(s3, LAKE).acquire("run-b", "alpha", "exec-b")
    real_write = StateStore.write

    def dies_at_gamma(self: StateStore, state: DatasetState, etag: str | None) -> str:
        if state.dataset == "gamma":
            raise Killed
        return real_write(self, state, etag)

    with monkeypatch.context() as m:
        m.setattr(StateStore, "write", dies_at_gamma)
        with pytest.raises(Killed):
            commit(s3, LAKE, "run-b", DATASETS, owner="exec-b")
    records = audit(s3, "run-b", "FAILED")  # had the run ended here, its audit says exactly what is committed
    assert {d: r["state_committed"] for d, r in records.items()} == {
        "alpha": True,
        "beta": True,
        "gamma": False,
        "delta": False,
    }
    assert records["alpha"]["watermark_committed"] == "alpha-w1" and records["gamma"]["watermark_committed"] is None
    assert LeaseStore(s3, LAKE).read("run-b", "alpha")[0].released_at is None  # held until the commit succeeds

    assert commit(s3, LAKE, "run-b", DATASETS, owner="exec-b") == {d: f"{d}-w1" for d in DATASETS}  # the retry
    assert states(s3) == {d: (f"{d}-w1", "run-b") for d in DATASETS}
    assert LeaseStore(s3, LAKE).read("run-b", "alpha")[0].released_at is not None
    marked = StateStore(s3, LAKE)
    offered = sum(rows.values())
    committed_rows = sum(rows[d] for d in DATASETS if marked.is_processed(d, f"s3://x/{d}", "e"))
    fault.injected(
        "crash between steps: commit Lambda killed between two datasets", rows_in=offered, rows_out=committed_rows
    )
