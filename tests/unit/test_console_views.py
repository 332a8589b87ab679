"""The console's view builders: conservation bars, failing step, timeline lanes, snapshot ids, ages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from dataplatform.api import models
from dataplatform.console.catalog_views import age_text
from dataplatform.console.run_detail import Assertion, timeline_lanes
from dataplatform.console.run_views import conservation, duration_text, failing_step, readable_error, snapshot_ids

T0 = "2024-01-01T00:00:00+00:00"


def dataset(**counts: int | None) -> models.RunDataset:
    fields: dict[str, Any] = {"raw_rows": 10, "curated_rows": 7, "quarantined_rows": 2, "duplicate_rows": 1}
    fields |= counts
    return models.RunDataset(
        run_id="r1", dataset="sales", status="SUCCEEDED", started_at=T0, finished_at=T0, duration_s=1.0,
        raw_bytes=100, watermark_previous=None, watermark_committed=None, error_step=None, error=None, **fields,
    )  # fmt: skip


def summary(status: str, error_step: str | None = None) -> models.RunSummary:
    return models.RunSummary(
        run_id="r1", status=status, window_start=None, window_end=None, started_at=T0, finished_at=T0, datasets=1,
        failed_datasets=int(status == "FAILED"), raw_rows=0, curated_rows=0, quarantined_rows=0, duplicate_rows=0,
        error_step=error_step, error=None,
    )  # fmt: skip


def step(name: str, start: float, length: float | None, **extra: Any) -> dict[str, Any]:
    started = datetime.fromtimestamp(1704067200 + start, UTC)
    finished = None if length is None else datetime.fromtimestamp(1704067200 + start + length, UTC).isoformat()
    fields = {"step": name, "group": name, "dataset": None, "query": None, "status": "SUCCEEDED", "error": None}
    return {**fields, "started_at": started.isoformat(), "finished_at": finished, "duration_s": length, **extra}


def test_conservation_bar_parts_and_balance() -> None:
    bar = conservation(dataset())
    assert bar is not None and bar.raw == 10 and bar.balanced
    assert [(s.label, s.rows, s.percent) for s in bar.segments] == [
        ("curated", 7, 70.0),
        ("quarantined", 2, 20.0),
        ("duplicates", 1, 10.0),
    ]
    assert not conservation(dataset(raw_rows=11)).balanced  # type: ignore[union-attr]
    assert conservation(dataset(curated_rows=None)) is None  # never standardized
    empty = conservation(dataset(raw_rows=0, curated_rows=0, quarantined_rows=0, duplicate_rows=0))
    assert empty is not None and empty.balanced and {s.percent for s in empty.segments} == {0.0}


def test_failing_step_prefers_the_timeline_then_the_audit_record() -> None:
    failed = step("IngestRest", 1, 1, dataset="customers", status="FAILED")
    timeline = {"steps": [step("ResolveRun", 0, 1), failed, step("NotifyFailure", 2, 1, status="FAILED")]}
    assert failing_step(summary("FAILED", "Ingest"), timeline) == "IngestRest (customers)"
    assert failing_step(summary("FAILED", "Ingest"), None) == "Ingest"
    assert failing_step(summary("FAILED"), {"steps": []}) == "unknown step"
    assert failing_step(summary("SUCCEEDED"), timeline) is None


def test_timeline_lanes_place_steps_on_the_runs_span() -> None:
    timeline = {
        "started_at": "2024-01-01T00:00:00+00:00",
        "steps": [
            step("ResolveRun", 0, 2, group="ResolveRun"),
            step("IngestCsv", 2, 18, group="ingest", dataset="sales"),
            step("RefreshQuery", 20, 20, group="marts", query="daily_revenue"),
            step("WriteAudit", 40, None, group="WriteAudit", status="RUNNING"),
        ],
    }
    lanes, span = timeline_lanes(timeline, ["sales", "products"])
    assert span == 40.0
    assert [lane.name for lane in lanes] == ["sales", "marts", "run"]  # products ran nothing: no lane
    (ingest,) = lanes[0].bars
    assert (ingest.left, ingest.width, ingest.offset_s, ingest.subject) == (5.0, 45.0, 2.0, "sales")
    resolve, audit = lanes[2].bars
    assert (resolve.left, resolve.width) == (0.0, 5.0)
    assert (audit.left, audit.width, audit.status) == (100.0, 0.3, "RUNNING")  # an open step stays visible
    assert timeline_lanes(None, ["sales"]) == ((), 0.0)


def test_snapshot_ids_only_when_the_records_carry_them() -> None:
    standardize = {"curated_rows": 3, "snapshot_id": 8812, "published_snapshot_ids": [1, 2], "snapshots": None}
    assert snapshot_ids(standardize, {"status": "SUCCEEDED"}) == {
        "snapshot_id": "8812",
        "published_snapshot_ids": "[1, 2]",
    }
    assert snapshot_ids(None, {"raw_rows": 1}) == {}


@pytest.mark.parametrize(
    ("seconds", "text"), [(None, "-"), (0.25, "0.2 s"), (59.94, "59.9 s"), (61, "1 min 01 s"), (7322, "2 h 02 min")]
)
def test_duration_text(seconds: float | None, text: str) -> None:
    assert duration_text(seconds) == text


def test_readable_error_keeps_the_message_of_a_lambda_error_document() -> None:
    cause = 'customers: RestSourceError: {"errorType": "RestSourceError", "errorMessage": "GET /c: HTTP 400",'
    cause += ' "stackTrace": ["  File \\"x.py\\", line 1"]}'
    assert readable_error(cause) == "customers: RestSourceError: GET /c: HTTP 400"
    assert readable_error("Standardize: boom") == "Standardize: boom"
    assert readable_error('x: {"errorType": "E", "errorMessage": "cut') == 'x: {"errorType": "E", "errorMessage": "cut'
    assert readable_error(None) == ""


def test_age_and_assertion_outcome() -> None:
    now = datetime(2024, 1, 2, 0, 0, tzinfo=UTC)
    assert age_text("2024-01-01T23:59:00+00:00", now) == "1 min 00 s ago"
    assert age_text("2024-01-01T22:00:00", now) == "2 h 00 min ago"  # naive timestamps are UTC
    assert age_text(None, now) == "never"
    outcomes = [Assertion("a", s, v).outcome for s, v in (("error", 0), ("error", 3), ("warn", 3))]
    assert outcomes == ["passed", "failed", "warning"]
