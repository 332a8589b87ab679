"""Progress events of a local run: a task started or finished for a dataset (or for the run)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Event:
    """One progress event: a task started/finished for a dataset (or the run)."""

    step: str
    dataset: str | None
    phase: str  # start | done | continue | failed
    detail: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)
