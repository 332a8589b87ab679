"""Resolve a run: which datasets, which window, a deterministic run_id, and the standardization waves."""

from __future__ import annotations

import hashlib
import zoneinfo
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from dataplatform.config import PipelineConfig
from dataplatform.layout import Lake, check_run_id


class Window(BaseModel):
    """Inclusive date range of source data a run covers."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.start > self.end:
            raise ValueError(f"window start {self.start} is after its end {self.end}")
        return self

    @classmethod
    def parse(cls, text: str) -> Window:
        """`START:END` (ISO dates) as given on the command line."""
        start, sep, end = text.partition(":")
        if not sep:
            raise ValueError(f"window {text!r}: expected START:END, e.g. 2024-01-01:2024-01-31")
        return cls(start=date.fromisoformat(start.strip()), end=date.fromisoformat(end.strip()))


class LandingTrigger(BaseModel):
    """The S3 `Object Created` event that started a landing-triggered run (the landing rule, infra/triggers.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    event_id: str
    time: datetime
    key: str | None = None

    @field_validator("time")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError(f"landing event time {value.isoformat()} has no time zone")
        return value


class RunRequest(BaseModel):
    """The execution input: everything is optional; a scheduled run sends only its trigger, the landing rule
    `landing` (the S3 event)."""

    model_config = ConfigDict(extra="forbid")
    trigger: Literal["schedule", "landing", "backfill", "manual"] | None = None
    """What started the run (the schedule and the landing rule say so); the console shows it
    (dataplatform.workflow.timeline.trigger_of). It takes no part in the run id."""
    run_id: str | None = None
    window: Window | None = None
    datasets: list[str] | None = None
    landing: LandingTrigger | None = None

    @field_validator("run_id")
    @classmethod
    def _run_id(cls, value: str | None) -> str | None:
        return check_run_id(value) if value is not None else None


def default_window(config: PipelineConfig, started_at: datetime) -> Window:
    """The previous `default_window_days` whole days before the run started, in the schedule's time zone."""
    local_day = started_at.astimezone(zoneinfo.ZoneInfo(config.schedule.timezone)).date()
    return Window(start=local_day - timedelta(days=config.default_window_days), end=local_day - timedelta(days=1))


def select_datasets(config: PipelineConfig, requested: list[str] | None) -> list[str]:
    if not requested:
        return list(config.datasets)
    unknown = sorted(set(requested) - set(config.datasets))
    if unknown:
        raise ValueError(f"unknown dataset(s) {', '.join(unknown)}; pipeline.yaml has: {', '.join(config.datasets)}")
    return [name for name in config.datasets if name in set(requested)]  # config order, no duplicates


def make_run_id(
    window: Window, datasets: list[str], config: PipelineConfig, landing: LandingTrigger | None = None
) -> str:
    """Same window and selection -> same run_id, so a re-run (retry, backfill twice) overwrites, never duplicates.

    A landing-triggered run is a run of its landing event: every file that lands starts a run of its own that
    ingests what landed since the last committed run (a run_id per window would hand a file dropped at 14:00 the
    manifest of the 10:00 run). The same event, started again, is the same run.
    """
    selection = "all" if set(datasets) == set(config.datasets) else ",".join(sorted(datasets))
    digest = hashlib.sha256(f"{window.start}|{window.end}|{selection}".encode()).hexdigest()[:10]
    run_id = f"{window.start:%Y%m%d}-{window.end:%Y%m%d}-{digest}"
    if landing is None:
        return run_id
    event = hashlib.sha256(landing.event_id.encode()).hexdigest()[:6]
    return f"{run_id}-landing-{landing.time.astimezone(UTC):%Y%m%dT%H%M%SZ}-{event}"


def resolve_run(config: PipelineConfig, lake: Lake, request: dict[str, Any], started_at: datetime) -> dict[str, Any]:
    req = RunRequest.model_validate(request)
    datasets = select_datasets(config, req.datasets)
    window = req.window or default_window(config, started_at)
    run_id = req.run_id or make_run_id(window, datasets, config, req.landing)
    # Raw lands under the window's end date: deterministic per run, so a retried run writes the same keys.
    ingest_date = window.end
    selected = set(datasets)
    waves = [
        [
            {"dataset": name, "manifest_uri": lake.manifest_uri(name, ingest_date, run_id)}
            for name in wave
            if name in selected
        ]
        for wave in config.waves()
    ]
    return {
        "run_id": run_id,
        "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
        "ingest_date": ingest_date.isoformat(),
        "datasets": [{"dataset": n, "kind": config.datasets[n].source.kind, "cursor": None} for n in datasets],
        "dataset_names": datasets,
        "waves": waves,
    }


def parse_started_at(value: str | datetime) -> datetime:
    """`$$.Execution.StartTime` is ISO 8601 with a Z (or offset)."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"started_at {value!r} has no time zone")
    return parsed
