"""The run detail page's view: timeline lanes, per-dataset conservation and quarantine, assertions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dataplatform.api.data_access import LakeData
from dataplatform.console.run_views import (
    DatasetRun,
    RunRow,
    conservation,
    duration_text,
    run_row,
    snapshot_ids,
)

SNAPSHOT_RECORDS = ("standardize", "publish")
"""The per-dataset run records that may name published Iceberg snapshots (the Iceberg curated zone writes them)."""
RUN_LANES = ("marts", "assertions")
"""Lanes of steps that work on no dataset, after the datasets' lanes; other run-level steps share a `run` lane."""


@dataclass(frozen=True)
class TimelineBar:
    step: str
    subject: str | None
    """The dataset or query the step worked on."""
    status: str
    duration_s: float | None
    offset_s: float
    left: float
    """Percent of the run's span before the step started."""
    width: float
    error: str | None

    @property
    def duration(self) -> str:
        return duration_text(self.duration_s)


@dataclass(frozen=True)
class TimelineLane:
    name: str
    bars: tuple[TimelineBar, ...]


@dataclass(frozen=True)
class Assertion:
    name: str
    severity: str
    violations: int

    @property
    def outcome(self) -> str:
        if not self.violations:
            return "passed"
        return "failed" if self.severity == "error" else "warning"


@dataclass(frozen=True)
class RunDetail:
    row: RunRow
    datasets: tuple[DatasetRun, ...]
    lanes: tuple[TimelineLane, ...]
    span_s: float
    assertions: tuple[Assertion, ...] | None
    """None: the run ended before its assertions were checked."""


def _lane_of(step: dict[str, Any]) -> str:
    return step.get("dataset") or (step["group"] if step.get("group") in RUN_LANES else "run")


def timeline_lanes(timeline: dict[str, Any] | None, datasets: list[str]) -> tuple[tuple[TimelineLane, ...], float]:
    steps = [s for s in (timeline or {}).get("steps", []) if s.get("started_at")]
    if not steps:
        return (), 0.0
    first = (timeline or {}).get("started_at") or steps[0]["started_at"]
    start = datetime.fromisoformat(first)
    ends = [datetime.fromisoformat(s.get("finished_at") or s["started_at"]) for s in steps]
    span = max((max(ends) - start).total_seconds(), 0.001)
    lanes: dict[str, list[TimelineBar]] = {name: [] for name in [*datasets, *RUN_LANES, "run"]}
    for step, end in zip(steps, ends, strict=True):
        offset = (datetime.fromisoformat(step["started_at"]) - start).total_seconds()
        length = (end - datetime.fromisoformat(step["started_at"])).total_seconds()
        lanes.setdefault(_lane_of(step), []).append(
            TimelineBar(
                step=str(step["step"]),
                subject=step.get("dataset") or step.get("query"),
                status=str(step.get("status")),
                duration_s=step.get("duration_s"),
                offset_s=round(offset, 3),
                left=round(100 * offset / span, 3),
                width=max(round(100 * length / span, 3), 0.3),  # a step of a few ms stays visible
                error=step.get("error"),
            )
        )
    return tuple(TimelineLane(name, tuple(bars)) for name, bars in lanes.items() if bars), round(span, 3)


def run_detail(data: LakeData, run_id: str) -> RunDetail:
    detail = data.run(run_id)
    records = data.records
    timeline = records.timeline(run_id) if records else None
    datasets = []
    for record in detail.datasets:
        steps = [records.step(run_id, record.dataset, s) for s in SNAPSHOT_RECORDS] if records else []
        quarantine = data.quarantine(record.dataset, run_id) if record.quarantined_rows else None
        snapshots = snapshot_ids(*steps, record.model_dump())
        datasets.append(DatasetRun(record, conservation(record), quarantine, snapshots))
    quality = records.quality(run_id) if records else None
    assertions = (
        tuple(Assertion(str(r["name"]), str(r["severity"]), int(r["violations"])) for r in quality["results"])
        if quality
        else None
    )
    lanes, span = timeline_lanes(timeline, [d.dataset for d in detail.datasets])
    for dataset in datasets:
        bars = [b for lane in lanes if lane.name == dataset.record.dataset for b in lane.bars]
        dataset.busy_s = round(sum(b.duration_s or 0.0 for b in bars), 3) if bars else None
    return RunDetail(run_row(data, detail.run), tuple(datasets), lanes, span, assertions)
