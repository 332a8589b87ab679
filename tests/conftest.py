"""Suite-wide fixtures: the `fault` recorder of tests marked `faults` (see tests/faults_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.faults_support import FaultLog, FaultRecord, append_records, summary_line

_COUNTED: list[FaultRecord] = []
_PASSED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[Any]:
    report = yield
    if report.when == "call":
        item.stash[_PASSED] = report.passed
    return report


@pytest.fixture
def fault(request: pytest.FixtureRequest) -> Iterator[FaultLog]:
    if request.node.get_closest_marker("faults") is None:
        raise pytest.UsageError(f"{request.node.nodeid}: the `fault` fixture is for tests marked @pytest.mark.faults")
    log = FaultLog(request.node.nodeid)
    yield log
    if request.node.stash.get(_PASSED, False):
        _COUNTED.extend(log.records)
        append_records(log.records)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _COUNTED:
        terminalreporter.write_line(summary_line(_COUNTED))
