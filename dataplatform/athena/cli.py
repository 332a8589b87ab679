"""`dataplatform query`: the logic behind the thin typer command."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console

from dataplatform.athena.engine import AthenaQueryError, LocalAthena
from dataplatform.athena.output import emit
from dataplatform.config import ConfigError, PipelineConfig, load_config
from dataplatform.local.lake_store import LAKE_DIR_ENV, read_resources, resolve_lake_dir

FORMATS = ("table", "csv", "json")


def infer_curated_bucket(lake_dir: Path, config: PipelineConfig | None) -> str | None:
    """The project's curated bucket as its last local run recorded it; else the one bucket with a curated/ zone."""
    known = read_resources(lake_dir, config.project) if config else None
    if known:
        return known["curated_bucket"]
    s3 = lake_dir / "s3"
    candidates = [p.name for p in s3.iterdir() if (p / "curated").is_dir()] if s3.is_dir() else []
    return candidates[0] if len(candidates) == 1 else None


def run_query(
    sql: str | None,
    file: Path | None,
    output_format: str,
    lake_dir: Path | None,
    config_path: Path,
    curated_bucket: str | None,
    *,
    database: str | None = "curated",
    out: Console | None = None,
    err: Console | None = None,
) -> int:
    """Exit code: 0 ok, 1 the query failed, 2 bad usage (arguments, missing lake or config)."""
    # Piped output gets the table at its natural width instead of cells cut to 80 columns.
    out = out or Console(file=sys.stdout, soft_wrap=True, width=None if sys.stdout.isatty() else 10_000)
    err = err or Console(file=sys.stderr, soft_wrap=True)
    fmt = output_format.lower()
    if fmt not in FORMATS:
        err.print(f"--format must be one of {', '.join(FORMATS)}, not {output_format!r}")
        return 2
    if (sql is None) == (file is None):
        err.print("give either a SQL string or --file PATH (exactly one)")
        return 2
    if file is not None:
        if not file.is_file():
            err.print(f"{file}: no such SQL file")
            return 2
        sql = file.read_text(encoding="utf-8")
    config: PipelineConfig | None = None
    if config_path.is_file():
        try:
            config = load_config(config_path)
        except ConfigError as exc:
            for message in exc.messages:
                err.print(message, markup=False)
            return 2
    lake = resolve_lake_dir(lake_dir)
    if not (lake / "glue").is_dir():
        err.print(
            f"no local lake at {lake} (expected {lake}/glue/ and {lake}/s3/): run `make demo` or "
            f"`dataplatform run --local` first, or pass --lake-dir / set ${LAKE_DIR_ENV}"
        )
        return 2
    bucket = curated_bucket or infer_curated_bucket(lake, config)
    assert sql is not None
    with LocalAthena.from_lake_dir(lake, config, curated_bucket=bucket) as engine:
        for name, reason in engine.skipped.items():
            err.print(f"warning: {name} is not queryable locally: {reason}", markup=False)
        try:
            result = engine.execute(sql, source=str(file) if file else None, database=database)
        except AthenaQueryError as exc:
            err.print(str(exc), markup=False, highlight=False)
            return 1
    emit(result, fmt, out)  # type: ignore[arg-type]
    return 0
