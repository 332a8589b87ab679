"""Every decision of a local run: one JSON line each (when a report file is asked for) and an in-memory tally.

A line: {"role", "session", "operation", "action", "resource", "decision", "reason", "matched"}. `reason` is
allowed-by-identity | allowed-by-resource | explicit-deny-identity | explicit-deny-resource | implicit-deny |
no-resource-policy-grant | unmapped-operation | unknown-credentials | no-task-identity. The runner's own calls are
counted, not listed. The tally aggregates by (role, action, resource, decision): S3A alone makes hundreds of
checks for one read.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

Json = dict[str, Any]


@dataclass(frozen=True)
class Summary:
    checked: int
    denied: int
    runner_calls: int
    roles: int
    denials: list[Json]
    """The distinct denied (role, action, resource, reason), first seen first."""
    unmapped: list[str]

    def line(self) -> str:
        if not self.denied:
            return f"IAM: {self.checked:,} calls checked against {self.roles} roles' policies, none denied"
        return f"IAM: {self.checked:,} calls checked against {self.roles} roles' policies, {self.denied:,} denied"


class Recorder:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("w", encoding="utf-8")
        self.tally: Counter[tuple[str | None, str | None, str | None, str]] = Counter()
        self._denials: dict[tuple[Any, ...], Json] = {}
        self._unmapped: dict[str, None] = {}
        self.runner_calls = 0

    def record(self, row: Json) -> None:
        with self._lock:
            self.tally[(row.get("role"), row.get("action"), row.get("resource"), row["decision"])] += 1
            if row["decision"] == "Deny":
                key = (row.get("role"), row.get("action"), row.get("resource"), row["reason"])
                self._denials.setdefault(key, row)
            if row["reason"] == "unmapped-operation":
                self._unmapped.setdefault(str(row.get("operation")), None)
            if self._file is not None:
                self._file.write(json.dumps(row, sort_keys=True) + "\n")

    def runner_call(self) -> None:
        with self._lock:
            self.runner_calls += 1

    def decisions(self, role: str, action: str) -> dict[str, str]:
        """resource -> decision of every (role, action) call so far (tests, the least-privilege tool)."""
        with self._lock:
            return {res: decision for (r, a, res, decision) in self.tally if r == role and a == action and res}

    def summary(self) -> Summary:
        with self._lock:
            return Summary(
                checked=sum(self.tally.values()),
                denied=sum(n for (_, _, _, decision), n in self.tally.items() if decision == "Deny"),
                runner_calls=self.runner_calls,
                roles=len({role for role, *_ in self.tally if role}),
                denials=list(self._denials.values()),
                unmapped=list(self._unmapped),
            )

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def read_report(path: Path) -> list[Json]:
    """The rows of a report file (bad lines name the file and line)."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not a JSON line ({exc.msg})") from None
    return rows
