"""A run's timeline, condensed from its Step Functions execution history (the same events on AWS and in the local
runner's interpreter): one step per Task state entered, with the dataset or query it worked on, its start and end,
and whether it failed. Every ingest call is a step of its own (continuations included), so are the Glue job of
each dataset, each mart refresh and each assertion. The write_audit task records it as
`runs/<run_id>/_run/timeline.json`; the console draws it.

A Map runs its iterations in parallel, so events interleave: each event is tied to the state it belongs to by
following `previousEventId` back to the nearest `...StateEntered` event.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Literal

from dataplatform.layout import LakeKeys

Trigger = Literal["schedule", "landing", "backfill", "manual"]
FAILED_EVENTS = ("LambdaFunctionFailed", "LambdaFunctionTimedOut", "TaskFailed", "TaskTimedOut", "ExecutionFailed")
STEP_GROUPS = ((re.compile(r"^Ingest[A-Z]"), "ingest"), (re.compile(r"^Standardize\d*$"), "standardize"),
               (re.compile(r"^RefreshQuery$"), "marts"), (re.compile(r"^AssertionQuery$"), "assertions"))  # fmt: skip
MAX_ERROR_CHARS = 500


def trigger_of(request: dict[str, Any]) -> Trigger:
    """What started the run: the schedule names itself, the landing rule sends its S3 event (`landing`); otherwise
    a window given by hand is a backfill, and anything else a manual run."""
    named = request.get("trigger")
    if named in ("schedule", "landing", "backfill", "manual"):
        return named  # type: ignore[no-any-return]
    if request.get("landing"):
        return "landing"
    return "backfill" if request.get("window") else "manual"


def step_group(state: str) -> str:
    """The kind of work a state does: ingest, standardize, marts, assertions, or the state's own name."""
    return next((group for pattern, group in STEP_GROUPS if pattern.match(state)), state)


def _time(event: dict[str, Any]) -> datetime:
    stamp = event["timestamp"]
    return stamp if isinstance(stamp, datetime) else datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))


def _details(event: dict[str, Any]) -> dict[str, Any]:
    return next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})


def _json(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _error(details: dict[str, Any]) -> str:
    """`error: message`; a Lambda's cause is its JSON error document, of which only the message is kept."""
    cause = details.get("cause") or ""
    parsed = _json(cause) if str(cause).startswith("{") else {}
    message = parsed.get("errorMessage") or cause
    return f"{details.get('error') or parsed.get('errorType') or 'Error'}: {message}"[:MAX_ERROR_CHARS]


def _entered(events: dict[int, dict[str, Any]], event: dict[str, Any]) -> dict[str, Any] | None:
    """The `...StateEntered` event an event belongs to."""
    current: dict[str, Any] | None = events.get(event.get("previousEventId", 0))
    while current is not None and not current["type"].endswith("StateEntered"):
        current = events.get(current.get("previousEventId", 0))
    return current


def timeline(history: list[dict[str, Any]]) -> dict[str, Any]:
    """`{input, trigger, started_at, steps: [{step, group, dataset, query, started_at, finished_at, duration_s,
    status, error}]}`, steps in the order they started. A step still open (the write_audit task itself while it
    reads this) has no end and status RUNNING."""
    events = {int(e["id"]): e for e in history}
    started = next((e for e in history if e["type"] == "ExecutionStarted"), None)
    request = _json(_details(started).get("input")) if started else {}
    steps: dict[int, dict[str, Any]] = {}
    for event in history:
        kind = event["type"]
        if kind == "TaskStateEntered":
            details = _details(event)
            state_input = _json(details.get("input"))
            steps[int(event["id"])] = {
                "step": details.get("name"), "group": step_group(str(details.get("name"))),
                "dataset": state_input.get("dataset") if isinstance(state_input.get("dataset"), str) else None,
                "query": state_input.get("name") if isinstance(state_input.get("name"), str) else None,
                "started_at": _time(event).isoformat(), "finished_at": None, "duration_s": None,
                "status": "RUNNING", "error": None,
            }  # fmt: skip
            continue
        owner = _entered(events, event) if kind in FAILED_EVENTS or kind == "TaskStateExited" else None
        step = steps.get(int(owner["id"])) if owner else None
        if step is None:
            continue
        if kind in FAILED_EVENTS:
            step["status"], step["error"] = "FAILED", _error(_details(event))
        else:  # exited: failed if its last attempt failed (an attempt that a retry recovered does not count)
            last = events.get(event.get("previousEventId", 0)) or {}
            failed = last.get("type") in FAILED_EVENTS
            step["status"] = "FAILED" if failed else "SUCCEEDED"
            step["error"] = _error(_details(last)) if failed else None
            step["finished_at"] = _time(event).isoformat()
            step["duration_s"] = round((_time(event) - _time(owner)).total_seconds(), 3)  # type: ignore[arg-type]
    return {
        "input": request,
        "trigger": trigger_of(request),
        "started_at": _time(started).isoformat() if started else None,
        "steps": list(steps.values()),
    }


def execution_history(sfn: Any, execution: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution):
        events.extend(page["events"])
    return events


def record_timeline(s3: Any, sfn: Any, lake: LakeKeys, bucket: str, run_id: str, execution: str) -> str:
    """Write the run's timeline next to its other run records; returns the key."""
    record = {"run_id": run_id, "execution": execution, **timeline(execution_history(sfn, execution))}
    key = lake.run_record_key(run_id, "timeline")
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(record).encode(), ContentType="application/json")
    return key
