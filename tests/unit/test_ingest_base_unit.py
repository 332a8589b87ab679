"""The ingest event contract and the time budget."""

from __future__ import annotations

from datetime import date

import pytest

from dataplatform.ingest.base import IngestRequest, TimeBudget


def test_event_parsing() -> None:
    event = {
        "dataset": "sales",
        "run_id": "2024-02-01",
        "window": {"start": "2024-01-01", "end": "2024-01-31"},
        "ingest_date": "2024-02-01",
        "cursor": None,
    }
    req = IngestRequest.from_event(event)
    assert (req.window_start, req.window_end, req.ingest_date, req.cursor) == (
        date(2024, 1, 1),
        date(2024, 1, 31),
        date(2024, 2, 1),
        None,
    )
    assert IngestRequest.from_event({**event, "cursor": {"next_part": 2}}).cursor == {"next_part": 2}
    with pytest.raises(ValueError, match=r"missing window, ingest_date"):
        IngestRequest.from_event({"dataset": "sales", "run_id": "r"})
    with pytest.raises(ValueError, match=r"must be ISO dates"):
        IngestRequest.from_event({**event, "window": {"start": "yesterday", "end": "2024-01-31"}})
    with pytest.raises(ValueError, match=r"run_id 'a/b'"):
        IngestRequest.from_event({**event, "run_id": "a/b"})
    with pytest.raises(ValueError, match=r"cursor must be an object or null"):
        IngestRequest.from_event({**event, "cursor": "abc"})


def test_time_budget() -> None:
    left = [100.0]
    budget = TimeBudget(lambda: left[0], margin_s=30)
    assert not budget.exhausted()
    left[0] = 29.9
    assert budget.exhausted()
    assert not TimeBudget().exhausted()
