"""Renders the console's pages with Jinja2 (autoescaped). Every page carries its stylesheet and, when it has charts,
uPlot and console.js inline, so a page (and a report file) needs no network and no second request."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from dataplatform.console.run_views import readable_error

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
VENDOR = STATIC / "vendor"
"""uPlot, copied from node_modules by `make setup` (package.json pins it)."""


class MissingAssetError(FileNotFoundError):
    """The vendored chart library is not there: `make setup` copies it."""


@dataclass(frozen=True)
class Assets:
    css: str
    js: str
    uplot: str


def _read(path: Path) -> str:
    if not path.is_file():
        raise MissingAssetError(f"{path} is missing: run `make setup` (it copies uPlot from node_modules)")
    return path.read_text(encoding="utf-8")


@cache
def assets() -> Assets:
    # Inline <script>/<style> must not contain their own end tags; the pinned files do not (checked here).
    css = _read(VENDOR / "uPlot.min.css") + "\n" + _read(STATIC / "console.css")
    js, uplot = _read(STATIC / "console.js"), _read(VENDOR / "uPlot.iife.min.js")
    for name, text in (("css", css), ("js", js), ("uplot", uplot)):
        if "</script" in text.lower() or "</style" in text.lower():
            raise ValueError(f"console asset {name} contains a closing tag and cannot be inlined")
    return Assets(css, js, uplot)


def short_run(run_id: str) -> str:
    """A chart label for a run: its id's unique hash part (`<start>-<end>-<hash>`), or the id if short."""
    return run_id if len(run_id) <= 12 else f"…{run_id[-10:]}"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["short_run"] = short_run
    env.filters["readable_error"] = readable_error
    return env


def render_page(template: str, *, project: str, page: str, charts: bool = False, **context: Any) -> str:
    context.setdefault("report", False)
    return (
        environment()
        .get_template(template)
        .render(project=project, page=page, charts=charts, assets=assets(), **context)
    )
