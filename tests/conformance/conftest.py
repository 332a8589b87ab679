"""The Athena conformance suite reports its measure at the end of the run (see docs/local-athena.md)."""

from __future__ import annotations

from collections import Counter

import pytest

OUTCOMES: dict[str, str] = {}
"""entry id -> 'match' | 'refused' (set by the test) | 'wrong' (set here when the test fails)."""


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    entry = getattr(report, "conformance_entry", None) or _entry_id(report.nodeid)
    if entry is not None and report.when == "call" and report.failed:
        OUTCOMES[entry] = "wrong"


def _entry_id(nodeid: str) -> str | None:
    if "test_athena_conformance.py::test_entry[" not in nodeid:
        return None
    return nodeid.split("test_entry[", 1)[1].rstrip("]")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not OUTCOMES:
        return
    counts = Counter(OUTCOMES.values())
    terminalreporter.write_line(
        f"athena conformance: {len(OUTCOMES)} entries, {counts['match']} match Athena, "
        f"{counts['refused']} refused, {counts['wrong']} wrong"
    )
