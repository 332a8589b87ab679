"""What the run pages show, built from the API's answers (`LakeData`) and the run records: plain dataclasses the
templates only print. No SQL and no engine here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dataplatform.api import models
from dataplatform.api.data_access import LakeData


def seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds(), 3)


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def readable_error(text: str | None) -> str:
    """A failure as people read it: a Lambda's JSON error document (type, message, stack trace) in a workflow
    cause becomes `Type: message`; anything else is kept as it is."""
    if not text:
        return ""
    start = text.find('{"errorType"')
    if start < 0:
        return text
    try:
        document = json.JSONDecoder().raw_decode(text[start:])[0]
    except ValueError:
        return text
    return f"{text[:start]}{document.get('errorMessage', '')}".strip()


@dataclass(frozen=True)
class RunRow:
    run: models.RunSummary
    trigger: str
    duration_s: float | None
    failing_step: str | None
    """For a failed run: the step that failed, with the dataset or query it worked on when the timeline says."""

    @property
    def duration(self) -> str:
        return duration_text(self.duration_s)


def failing_step(run: models.RunSummary, timeline: dict[str, Any] | None) -> str | None:
    if run.status != "FAILED":
        return None
    failed = [s for s in (timeline or {}).get("steps", []) if s.get("status") == "FAILED"]
    if failed:
        first = failed[0]
        what = first.get("dataset") or first.get("query")
        return f"{first['step']} ({what})" if what else str(first["step"])
    return run.error_step or "unknown step"


def run_row(data: LakeData, run: models.RunSummary) -> RunRow:
    timeline = data.records.timeline(run.run_id) if data.records else None
    trigger = (timeline or {}).get("trigger") or "unknown"
    return RunRow(run, trigger, seconds_between(run.started_at, run.finished_at), failing_step(run, timeline))


def runs_page(data: LakeData, limit: int = 50) -> list[RunRow]:
    return [run_row(data, run) for run in data.runs(limit).runs]


@dataclass(frozen=True)
class Segment:
    label: str
    rows: int
    percent: float


@dataclass(frozen=True)
class Conservation:
    """raw = curated + quarantined + duplicates, drawn as one bar of the three parts."""

    raw: int
    segments: tuple[Segment, ...]
    balanced: bool


def conservation(dataset: models.RunDataset) -> Conservation | None:
    if dataset.raw_rows is None or dataset.curated_rows is None:
        return None  # the run stopped before standardization
    parts = (
        ("curated", dataset.curated_rows),
        ("quarantined", dataset.quarantined_rows or 0),
        ("duplicates", dataset.duplicate_rows or 0),
    )
    total = sum(rows for _, rows in parts)
    segments = tuple(Segment(label, rows, round(100 * rows / total, 2) if total else 0.0) for label, rows in parts)
    return Conservation(dataset.raw_rows, segments, balanced=total == dataset.raw_rows)


def snapshot_ids(*records: dict[str, Any] | None) -> dict[str, str]:
    """Published Iceberg snapshot ids, when the run records carry them (any `*snapshot*` field)."""
    found: dict[str, str] = {}
    for record in records:
        for key, value in (record or {}).items():
            if "snapshot" in key and value not in (None, "", [], {}):
                found[key] = value if isinstance(value, str) else str(value)
    return found


@dataclass
class DatasetRun:
    record: models.RunDataset
    conservation: Conservation | None
    quarantine: models.QuarantineSummary | None
    snapshots: dict[str, str] = field(default_factory=dict)
    busy_s: float | None = None
    """Time this dataset's own steps ran (its ingest calls and its Glue job), from the timeline."""

    @property
    def busy(self) -> str:
        return duration_text(self.busy_s)
