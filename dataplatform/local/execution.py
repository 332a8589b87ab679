"""What a finished local execution says: its run, failure and per-dataset summary, from the Step Functions history
and the run records the steps wrote."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dataplatform.local.events import Event

FAIL_STATES = ("PipelineFailed", "ResolveFailed")


@dataclass
class RunResult:
    status: str
    execution_arn: str
    run_id: str | None
    duration_s: float
    output: dict[str, Any] | None
    error: str | None
    cause: str | None
    datasets: dict[str, dict[str, Any]]
    marts: dict[str, int]
    failure: dict[str, Any] | None = None
    """For a failed run: {step, error, cause} of the step that failed first."""


def resolved_run(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The `$.run` the ResolveRun state produced (also for failed runs)."""
    for event in history:
        details = event.get("stateExitedEventDetails")
        if details and details.get("name") == "ResolveRun":
            run = json.loads(details.get("output") or "{}").get("run")
            return run if isinstance(run, dict) else None
    return None


def failure_of(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """{step, error, cause} as the failure path recorded it (the input of the final Fail state)."""
    for event in history:
        details = event.get("stateEnteredEventDetails")
        if not details or details.get("name") not in FAIL_STATES:
            continue
        failure = json.loads(details.get("input") or "{}").get("failure") or {}
        if details["name"] == "ResolveFailed":
            return {"step": "ResolveRun", "error": failure.get("Error"), "cause": failure.get("Cause")}
        return {"step": failure.get("step"), "error": failure.get("error"), "cause": failure.get("cause")}
    return None


def busy_seconds(events: list[Event], dataset: str) -> float | None:
    """Time this dataset's own tasks ran (ingest calls and its Glue job), not time spent queued behind others."""
    total, opened = 0.0, {}
    for event in events:
        if event.dataset != dataset:
            continue
        if event.phase == "start":
            opened[event.step] = event.at
        elif event.step in opened:
            total += event.at - opened.pop(event.step)
    return round(total, 2) if total else None
