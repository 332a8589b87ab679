"""`dataplatform report [RUN_ID] --out FILE.html`: one run's detail page as a single self-contained file (styles and
scripts inline, no link to fetch), for sharing, CI artifacts or a machine without a server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from dataplatform.api.errors import NotFound
from dataplatform.config import load_config
from dataplatform.console.render import render_page
from dataplatform.console.run_detail import run_detail
from dataplatform.local.lake_data import local_lake_data


class ReportError(ValueError):
    """No run to report on (an empty lake, or an unknown run id)."""


def write_report(config_file: Path, lake_dir: Path, out: Path, run_id: str | None = None) -> tuple[str, Path]:
    """Renders the run (default: the newest) into `out`; returns (run id, path written)."""
    config = load_config(config_file)
    data, engine = local_lake_data(config, config_file, lake_dir)
    try:
        if run_id is None:
            latest = data.runs(1).runs
            if not latest:
                raise ReportError(f"{lake_dir}: no run has finished in this lake yet")
            run_id = latest[0].run_id
        try:
            detail = run_detail(data, run_id)
        except NotFound as error:
            raise ReportError(error.message) from None
    finally:
        engine.close()
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    html = render_page("run.html", project=config.project, page="Runs", detail=detail, report=True,
                       generated_at=generated)  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return run_id, out
