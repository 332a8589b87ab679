"""A tiny Lambda time budget: the ingest loop continues several times and the result equals a normal run."""

from __future__ import annotations

import pytest

from dataplatform.local.runner import LocalPlatform
from tests.e2e.support import WINDOW

pytestmark = pytest.mark.e2e


def test_tiny_time_budget_loops_and_gives_the_same_result(platform: LocalPlatform) -> None:
    platform.options.lambda_timeout_s = 0.001  # every call is short of time after its first chunk
    result = platform.run(window=WINDOW)
    assert result.status == "SUCCEEDED", result.cause
    continuations = [e for e in platform.events if e.phase == "continue"]
    assert len(continuations) >= 3, "expected the ingest loop to run several times"
    for name, d in result.datasets.items():
        assert d["raw_rows"] == d["curated_rows"] + d["quarantined_rows"] + d["duplicate_rows"], name
    assert result.datasets["sales"]["raw_rows"] == sum(
        body.count(b"\n") - 1 for body in platform.sample.sales_files.values()
    )
    assert result.datasets["transactions"]["curated_rows"] == len(platform.sample.transactions)
    assert result.datasets["products"]["curated_rows"] == len(platform.sample.products)
