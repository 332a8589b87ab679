"""What a person sees of a local run: progress, the summary and the marts; everything else goes to a log file.

A local run hosts a JVM (Spark), Node (the CDK synth), moto, Powertools and Python logging in one process. Their
output is written to file descriptors 1 and 2 directly (the JVM and Node children inherit them), so it is
captured at that level: `CapturedOutput` points both descriptors at the log file and gives the command a stream
to the real terminal for its own output.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from rich.console import Console
from rich.table import Table

MAX_WIDTH = 100
"""Local run output is laid out to fit a 100-column terminal."""


class CapturedOutput:
    """Within the block, fd 1 and fd 2 (and so sys.stdout, sys.stderr, logging, child processes) write to
    `log_path`; `terminal(stderr=...)` writes to where they pointed before. Disabled: nothing is redirected."""

    def __init__(self, log_path: Path, *, enabled: bool = True) -> None:
        self.log_path = log_path
        self.enabled = enabled
        self._saved: dict[int, int] = {}
        self._streams: list[IO[str]] = []
        self._log: IO[bytes] | None = None

    def __enter__(self) -> CapturedOutput:
        if not self.enabled:
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        sys.stdout.flush()
        sys.stderr.flush()
        self._log = open(self.log_path, "ab")
        for fd in (1, 2):
            self._saved[fd] = os.dup(fd)
            os.dup2(self._log.fileno(), fd)
        root = logging.getLogger()
        root.setLevel(logging.INFO)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        self._handler = handler
        return self

    def terminal(self, *, stderr: bool = False) -> IO[str]:
        """A text stream to the terminal (the original stdout, or stderr)."""
        fd = 2 if stderr else 1
        if not self.enabled:
            return sys.stderr if stderr else sys.stdout
        stream = os.fdopen(os.dup(self._saved[fd]), "w", buffering=1, encoding="utf-8")
        self._streams.append(stream)
        return stream

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.enabled:
            return
        logging.getLogger().removeHandler(self._handler)
        sys.stdout.flush()
        sys.stderr.flush()
        for stream in self._streams:
            stream.flush()
        for fd, saved in self._saved.items():
            os.dup2(saved, fd)
            os.close(saved)
        for stream in self._streams:
            stream.close()
        if self._log is not None:
            self._log.close()


def console_for(stream: IO[str]) -> Console:
    """A rich console on `stream`: a terminal's width up to MAX_WIDTH; MAX_WIDTH when piped (not rich's 80)."""
    console = Console(file=stream, highlight=False)
    if console.width > MAX_WIDTH or not console.is_terminal:
        console = Console(file=stream, highlight=False, width=MAX_WIDTH)
    return console


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def rows_renderable(console: Console, title: str, columns: list[str], rows: list[tuple[Any, ...]]) -> Table:
    """A table of the rows if it fits the console without cutting a value; otherwise one name/value table per
    row stacked (a wide one-row mart such as kpi_summary reads best that way)."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, no_wrap=True, overflow="fold")
    for row in rows:
        table.add_row(*(_text(v) for v in row))
    fits = console.measure(table).maximum <= console.width
    if fits and len(rows) != 1:
        return table
    vertical = Table(title=title, title_justify="left", show_header=len(rows) > 1)
    vertical.add_column("column", style="bold")
    for index in range(len(rows)):
        vertical.add_column(f"row {index + 1}" if len(rows) > 1 else "value", overflow="fold")
    for position, column in enumerate(columns):
        vertical.add_row(column, *(_text(row[position]) for row in rows))
    return vertical
