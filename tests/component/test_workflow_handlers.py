"""The workflow Lambdas parse their events into typed models (Powertools parser) before doing any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.component.test_ingest_handlers_component import Context, load_handler

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAW_BUCKET", "raw")
    monkeypatch.setenv("CURATED_BUCKET", "curated")
    monkeypatch.setenv("PIPELINE_CONFIG", str(ROOT / "pipeline.yaml"))
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "retail")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")


@pytest.mark.parametrize(
    ("function", "event", "field"),
    [
        ("resolve_run", {"input": {}}, "started_at"),
        ("commit_state", {"run_id": "r1"}, "datasets"),
        ("write_audit", {"run_id": "r1", "window": {"start": "2024-01-01", "end": "2024-01-02"},
                         "datasets": ["sales"], "status": "DONE", "started_at": "2024-01-03T00:00:00Z"}, "status"),
        ("check_quality", {"run_id": "r1", "query_execution_ids": [{"name": "dq", "severity": "fatal",
                                                                     "query_execution_id": "q"}]}, "severity"),
    ],
)  # fmt: skip
def test_malformed_event_is_rejected_naming_the_field(env: None, function: str, event: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        load_handler(function).handler(event, Context(function_name=f"retail-{function}"))


def test_resolve_run_answers_a_typed_event(env: None) -> None:
    run = load_handler("resolve_run").handler(
        {"input": {"window": {"start": "2024-01-01", "end": "2024-01-02"}, "datasets": ["sales"]},
         "started_at": "2024-01-03T04:00:00Z"},
        Context(function_name="retail-resolve-run"),
    )  # fmt: skip
    assert run["dataset_names"] == ["sales"] and run["window"] == {"start": "2024-01-01", "end": "2024-01-02"}
