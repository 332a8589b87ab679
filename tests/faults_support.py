"""What a fault test injected and what it checked, recorded the same way by every test marked `faults`.

Issue 14's fault suite ends with one line computed from these records:
`faults: N bad inputs, M injected faults, L rows lost, D rows duplicated`.

How a test records (the `fault` fixture of tests/conftest.py):

    @pytest.mark.faults
    def test_zero_byte_file_is_rejected(s3, fault):
        ...                                   # feed the bad input, assert the outcome
        fault.bad_input("csv: 0-byte file", rows_in=5, rows_out=accepted + quarantined)

- `bad_input(name, ...)`: a malformed or hostile input (a file, a response, a row, a config value).
- `injected(name, ...)`: an infrastructure fault (HTTP 429/5xx, a timeout, a truncated body, a dropped database
  connection).
- `name`: a short unique description; the suite counts distinct names.
- `rows_in`: rows the source offered; `rows_out`: rows accounted for at the end (ingested, quarantined, rejected
  with their file, or left for the next run). Both 0 when no rows are involved (e.g. a credential leak).
  `rows_in - rows_out` > 0 is rows lost, < 0 rows duplicated; `record` fails the test on either, so every
  recorded fault is also a conservation check.

A record counts only when its test passed. `FAULTS_RECORD=<file>` appends every counted record as a JSON line
(for a harness that adds up several pytest runs); the terminal summary prints the line for this run.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Literal

Kind = Literal["bad_input", "injected_fault"]


@dataclass(frozen=True)
class FaultRecord:
    test: str
    kind: Kind
    name: str
    rows_in: int
    rows_out: int

    @property
    def rows_lost(self) -> int:
        return max(0, self.rows_in - self.rows_out)

    @property
    def rows_duplicated(self) -> int:
        return max(0, self.rows_out - self.rows_in)


@dataclass
class FaultLog:
    """The records of one test; handed out by the `fault` fixture."""

    test: str
    records: list[FaultRecord] = field(default_factory=list)

    def record(self, kind: Kind, name: str, *, rows_in: int = 0, rows_out: int = 0) -> None:
        entry = FaultRecord(self.test, kind, name, rows_in, rows_out)
        assert entry.rows_lost == 0, f"{name}: {entry.rows_lost} of {rows_in} rows lost"
        assert entry.rows_duplicated == 0, f"{name}: {entry.rows_duplicated} rows duplicated ({rows_out} of {rows_in})"
        self.records.append(entry)

    def bad_input(self, name: str, *, rows_in: int = 0, rows_out: int = 0) -> None:
        self.record("bad_input", name, rows_in=rows_in, rows_out=rows_out)

    def injected(self, name: str, *, rows_in: int = 0, rows_out: int = 0) -> None:
        self.record("injected_fault", name, rows_in=rows_in, rows_out=rows_out)


def summary_line(records: list[FaultRecord]) -> str:
    bad = {r.name for r in records if r.kind == "bad_input"}
    injected = {r.name for r in records if r.kind == "injected_fault"}
    lost = sum(r.rows_lost for r in records)
    duplicated = sum(r.rows_duplicated for r in records)
    return (
        f"faults: {len(bad)} bad inputs, {len(injected)} injected faults, "
        f"{lost} rows lost, {duplicated} rows duplicated"
    )


def append_records(records: list[FaultRecord]) -> None:
    path = os.environ.get("FAULTS_RECORD")
    if not path or not records:
        return
    with open(path, "a", encoding="utf-8") as out:
        for r in records:
            out.write(json.dumps(asdict(r)) + "\n")
