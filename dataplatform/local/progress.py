"""Live progress and the end-of-run summary of a local run, with rich."""

from __future__ import annotations

import threading
import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from dataplatform.local.events import Event
from dataplatform.local.execution import RunResult
from dataplatform.naming import ingest_kind

STEP_COLUMNS = {"ingest": "ingest", "standardize": "standardize"}
STYLE = {"start": "yellow", "continue": "yellow", "done": "green", "failed": "bold red"}


class LiveProgress:
    """Per dataset and step: what is running, how many chunks, rows, failures; plus the current run-level step."""

    def __init__(self, console: Console, datasets: list[str]) -> None:
        self.console = console
        self.cells: dict[tuple[str, str], Text] = {}
        self.datasets = list(datasets)
        self.chunks: dict[str, int] = {}
        self.current = Text("starting", style="yellow")
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self.live = Live(self._render(), console=console, refresh_per_second=8, transient=False)

    def __enter__(self) -> LiveProgress:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.live.update(self._render())
        self.live.__exit__(*exc)
        if not self.console.is_terminal:
            self.console.line()  # rich leaves the last frame without a newline when it is not a terminal

    def on_event(self, event: Event) -> None:
        with self._lock:
            if event.dataset and event.dataset not in self.datasets:
                self.datasets.append(event.dataset)
            step = "ingest" if ingest_kind(event.step) else event.step
            if event.dataset and step in STEP_COLUMNS:
                text = self._describe(step, event)
                self.cells[(event.dataset, step)] = Text(text, style=STYLE.get(event.phase, ""))
            else:
                label = event.detail.get("what") or event.detail.get("query") or event.step
                self.current = Text(f"{event.step}: {label} ({event.phase})", style=STYLE.get(event.phase, ""))
            self.live.update(self._render())

    def _describe(self, step: str, event: Event) -> str:
        if event.phase == "failed":
            return f"failed: {str(event.detail.get('error', ''))[:60]}"
        if step == "ingest":
            if event.phase == "continue":
                self.chunks[event.dataset or ""] = self.chunks.get(event.dataset or "", 0) + 1
                return f"continuing (chunk {self.chunks[event.dataset or '']})"
            if event.phase == "done":
                return f"{event.detail.get('rows', '?')} rows"
            return "running"
        if event.phase == "done":
            return f"done in {event.detail.get('seconds', 0):.1f}s"
        return "running"

    def _render(self) -> Group:
        table = Table(title="pipeline run", expand=False)
        table.add_column("dataset")
        for column in STEP_COLUMNS.values():
            table.add_column(column)
        for name in self.datasets:
            table.add_row(name, *(self.cells.get((name, step), Text("-", style="dim")) for step in STEP_COLUMNS))
        elapsed = Text(f"{time.monotonic() - self.started:5.1f}s  ", style="cyan")
        return Group(table, Text.assemble(elapsed, self.current))


class LineProgress:
    """`--verbose`: one line per event, interleaved with the log lines it shows live."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started = time.monotonic()

    def on_event(self, event: Event) -> None:
        what = event.dataset or event.detail.get("what") or event.detail.get("query") or ""
        error = f": {event.detail['error']}" if event.detail.get("error") else ""
        elapsed = time.monotonic() - self.started
        self.console.print(f"[{elapsed:6.1f}s] {event.step} {what} {event.phase}{error}", markup=False)


def summary_table(result: RunResult) -> Table:
    table = Table(title=f"run {result.run_id}: {result.status} in {result.duration_s:.1f}s", title_justify="left")
    for column in ("dataset", "raw", "curated", "quarantined", "duplicates", "duration", "status"):
        table.add_column(column, justify="right" if column not in ("dataset", "status") else "left")
    for name, d in result.datasets.items():
        style = "green" if d["status"] == "SUCCEEDED" else "red"
        table.add_row(
            name,
            _n(d["raw_rows"]),
            _n(d["curated_rows"]),
            _n(d["quarantined_rows"]),
            _n(d["duplicate_rows"]),
            f"{d['duration_s']:.1f}s" if d.get("duration_s") is not None else "-",
            Text(d["status"], style=style),
        )
    return table


def _n(value: Any) -> str:
    return "-" if value is None else f"{value:,}"


def result_json(result: RunResult) -> dict[str, Any]:
    return {
        "status": result.status,
        "duration_s": result.duration_s,
        "datasets": {
            name: {
                **{k: d[k] for k in ("status", "raw_rows", "curated_rows", "quarantined_rows", "duplicate_rows")},
                "rejected": d.get("rejected") or [],
            }
            for name, d in result.datasets.items()
        },
        "marts": result.marts,
        "run_id": result.run_id,
        "failure": result.failure,
    }
