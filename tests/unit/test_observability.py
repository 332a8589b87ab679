"""The one observability setup of every handler (dataplatform/observability.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from dataplatform.observability import Observability


class Rows(BaseModel):
    rows: int


@dataclass
class Context:
    function_name: str = "retail-test"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:retail-test"
    aws_request_id: str = "request-1"


def test_metrics_of_an_invocation_never_reach_a_later_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With metrics disabled (as in local runs) Powertools flushes nothing and keeps the values; a later
    invocation with metrics on emitted them as its own (found by the full suite's order)."""
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "test")
    observability = Observability()

    @observability.handler(Rows)
    def handle(event: Rows, context: object) -> dict[str, int]:
        observability.metrics.add_metric(name="Rows", unit=MetricUnit.Count, value=event.rows)
        return {"rows": event.rows}

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    handle({"rows": 1980}, Context())
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    capsys.readouterr()
    handle({"rows": 120}, Context())
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [m["Rows"] for m in emitted] == [[120.0]]
