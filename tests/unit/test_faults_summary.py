"""The fault suite's summary line (tests/faults_support.py, the `fault` fixture of tests/conftest.py) counts what
passing tests recorded, and every record is a conservation check."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.faults_support import FaultLog, summary_line

ROOT = Path(__file__).resolve().parents[2]


def test_a_record_that_loses_or_duplicates_rows_fails_its_test() -> None:
    log = FaultLog("t")
    with pytest.raises(AssertionError, match=r"x: 2 of 5 rows lost"):
        log.injected("x", rows_in=5, rows_out=3)
    with pytest.raises(AssertionError, match=r"y: 1 rows duplicated \(4 of 3\)"):
        log.bad_input("y", rows_in=3, rows_out=4)
    assert log.records == []


def test_the_line_counts_distinct_names_of_each_kind() -> None:
    log = FaultLog("t")
    log.bad_input("csv: empty", rows_in=2, rows_out=2)
    log.bad_input("csv: empty", rows_in=1, rows_out=1)  # a parametrized case recorded twice is one bad input
    log.bad_input("rest: loop")
    log.injected("rest: 429", rows_in=5, rows_out=5)
    assert summary_line(log.records) == "faults: 2 bad inputs, 1 injected faults, 0 rows lost, 0 rows duplicated"


def test_a_pytest_run_prints_the_line_for_passing_tests_only(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "from tests.conftest import fault, pytest_runtest_makereport, pytest_terminal_summary  # noqa: F401\n"
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    faults: recorded\n")
    (tmp_path / "test_sample.py").write_text(
        textwrap.dedent(
            """
            import pytest

            @pytest.mark.faults
            def test_passes(fault):
                fault.bad_input("a bad file", rows_in=3, rows_out=3)
                fault.injected("a 503", rows_in=2, rows_out=2)

            @pytest.mark.faults
            def test_fails_after_recording(fault):
                fault.injected("a timeout", rows_in=1, rows_out=1)
                assert False, "the outcome was wrong"

            def test_without_the_marker_cannot_record(fault):
                pass
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert "1 failed, 1 passed, 1 error" in done.stdout, done.stdout + done.stderr
    assert "faults: 1 bad inputs, 1 injected faults, 0 rows lost, 0 rows duplicated" in done.stdout.splitlines()


def test_make_test_runs_the_whole_suite_with_its_terminal_summary() -> None:
    """CI runs `make test`: its pytest call must not narrow the suite or silence the terminal summary."""
    recipe = (ROOT / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0]
    (command,) = [line.strip() for line in recipe.splitlines()[1:] if line.strip()]
    assert command.endswith("-m pytest"), command
