"""The run timeline condensed from a Step Functions history: interleaved Map iterations, continuations, retries."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dataplatform.workflow.timeline import step_group, timeline, trigger_of


class History:
    """Builds events the way Step Functions numbers them: each with the id of the event it follows."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.events: list[dict[str, Any]] = []
        self.add("ExecutionStarted", 0, 0, executionStartedEventDetails={"input": json.dumps(request)})

    def add(self, kind: str, after: int, second: float, **details: Any) -> int:
        event_id = len(self.events) + 1
        stamp = f"2024-01-01T00:00:{second:06.3f}+00:00"
        self.events.append({"id": event_id, "previousEventId": after, "type": kind, "timestamp": stamp, **details})
        return event_id

    def enter(self, state: str, after: int, second: float, **state_input: Any) -> int:
        details = {"name": state, "input": json.dumps(state_input)}
        return self.add("TaskStateEntered", after, second, stateEnteredEventDetails=details)

    def exit(self, name: str, after: int, second: float) -> int:
        return self.add("TaskStateExited", after, second, stateExitedEventDetails={"name": name, "output": "{}"})

    def failed(self, after: int, second: float, message: str) -> int:
        cause = json.dumps({"errorType": "RestSourceError", "errorMessage": message, "stackTrace": ["..."]})
        details = {"error": "RestSourceError", "cause": cause}
        return self.add("LambdaFunctionFailed", after, second, lambdaFunctionFailedEventDetails=details)


def test_interleaved_iterations_continuations_and_retries_each_get_their_own_times() -> None:
    h = History({"trigger": "landing", "datasets": ["sales", "customers"]})
    sales = h.enter("IngestCsv", 1, 1.0, dataset="sales")
    customers = h.enter("IngestRest", 1, 1.5, dataset="customers")
    attempt = h.failed(customers, 2.0, "HTTP 503")  # retried, then succeeded
    retried = h.add("LambdaFunctionSucceeded", h.add("LambdaFunctionScheduled", attempt, 3.0), 4.0)
    h.exit("IngestCsv", sales, 5.0)
    h.exit("IngestRest", retried, 6.0)
    again = h.enter("IngestCsv", 1, 7.0, dataset="sales")  # the continuation call
    h.exit("IngestCsv", again, 9.5)
    query = h.enter("RefreshQuery", 1, 10.0, name="daily_revenue")
    h.exit("RefreshQuery", h.failed(query, 10.25, "table not found"), 10.25)

    result = timeline(h.events)

    assert result["trigger"] == "landing" and result["started_at"] == "2024-01-01T00:00:00+00:00"
    got = [(s["step"], s["dataset"] or s["query"], s["duration_s"], s["status"]) for s in result["steps"]]
    assert got == [
        ("IngestCsv", "sales", 4.0, "SUCCEEDED"),
        ("IngestRest", "customers", 4.5, "SUCCEEDED"),
        ("IngestCsv", "sales", 2.5, "SUCCEEDED"),
        ("RefreshQuery", "daily_revenue", 0.25, "FAILED"),
    ]
    assert result["steps"][1]["error"] is None  # the retry recovered
    assert result["steps"][3]["error"] == "RestSourceError: table not found"
    assert [s["group"] for s in result["steps"]] == ["ingest", "ingest", "ingest", "marts"]


def test_a_step_without_an_end_is_still_running() -> None:
    h = History({})
    h.enter("WriteAudit", 1, 2.0)
    (step,) = timeline(h.events)["steps"]
    assert (step["status"], step["finished_at"], step["duration_s"]) == ("RUNNING", None, None)


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        ({"trigger": "schedule"}, "schedule"),
        ({"trigger": "landing", "datasets": ["sales"]}, "landing"),
        ({"datasets": ["sales"], "landing": {"event_id": "e1", "time": "2024-01-01T00:00:00Z"}}, "landing"),
        ({"window": {"start": "2024-01-01", "end": "2024-01-02"}}, "backfill"),
        ({"datasets": ["sales"]}, "manual"),
        ({"trigger": "bogus"}, "manual"),
    ],
)
def test_trigger_of_the_execution_input(request_: dict[str, Any], expected: str) -> None:
    assert trigger_of(request_) == expected


def test_step_groups() -> None:
    groups = [step_group(s) for s in ("IngestPostgres", "Standardize2", "AssertionQuery", "CommitState")]
    assert groups == ["ingest", "standardize", "assertions", "CommitState"]
