"""`dataplatform` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dataplatform.config import ConfigError, load_config

app = typer.Typer(no_args_is_help=True, help="Serverless data platform: run, query and check the pipeline.")


@app.command("validate")
def validate(
    config: Annotated[Path, typer.Option("--config", "-c", help="Path to pipeline.yaml")] = Path("pipeline.yaml"),
) -> None:
    """Check pipeline.yaml and print the standardization waves."""
    try:
        cfg = load_config(config)
    except ConfigError as exc:
        for message in exc.messages:
            typer.echo(message, err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{config}: OK, {len(cfg.datasets)} datasets")
    for i, wave in enumerate(cfg.waves(), 1):
        typer.echo(f"  wave {i}: {', '.join(wave)}")


@app.command("query")
def query(
    sql: Annotated[str | None, typer.Argument(help="Athena (Trino) SQL; curated./marts./audit. names work")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Run a SQL file (e.g. sql/marts/...)")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table, csv or json", case_sensitive=False)] = "table",
    lake_dir: Annotated[
        Path | None,
        typer.Option("--lake-dir", help="Local lake (default: $DATAPLATFORM_LAKE_DIR or .local-lake)"),
    ] = None,
    config: Annotated[Path, typer.Option("--config", "-c", help="Path to pipeline.yaml")] = Path("pipeline.yaml"),
    database: Annotated[
        str, typer.Option("--database", "-d", help="Database for unqualified table names (logical or Glue name)")
    ] = "curated",
    curated_bucket: Annotated[
        str | None, typer.Option("--curated-bucket", envvar="CURATED_BUCKET", help="For {{ curated_bucket }}")
    ] = None,
) -> None:
    """Run Athena SQL against the persisted local lake (DuckDB), e.g. after `make demo`."""
    from dataplatform.athena.cli import run_query  # DuckDB and sqlglot load only for this command

    raise typer.Exit(run_query(sql, file, output_format, lake_dir, config, curated_bucket, database=database))


def _window(text: str | None) -> tuple[str, str] | None:
    if not text:
        return None
    from dataplatform.workflow.run import Window

    try:
        window = Window.parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--window") from None
    return window.start.isoformat(), window.end.isoformat()


def _run_local(
    *, window: tuple[str, str] | None, datasets: list[str] | None, scale: float, fresh: bool, as_json: bool
) -> int:
    """Start the local platform, run once, print progress and the summary; returns the exit code."""
    import json

    from rich.console import Console

    from dataplatform.local.progress import LiveProgress, result_json, summary_table
    from dataplatform.local.runner import LocalOptions, LocalPlatform
    from dataplatform.local.sample_data import DEFAULT_WINDOW

    console = Console(stderr=as_json)
    options = LocalOptions(scale=scale, fresh=fresh)
    window = window or (DEFAULT_WINDOW[0].isoformat(), DEFAULT_WINDOW[1].isoformat())
    cfg = load_config(options.root / "pipeline.yaml")
    with LiveProgress(console, datasets or list(cfg.datasets)) as progress:
        platform = LocalPlatform(options)
        platform.listeners.append(progress.on_event)
        with platform:
            result = platform.run(window=window, datasets=datasets)
            marts = {
                name: platform.mart_rows(name, 5) for name in ("kpi_summary", "daily_revenue") if name in result.marts
            }
    if as_json:
        typer.echo(json.dumps(result_json(result), indent=2))
        return 0 if result.status == "SUCCEEDED" else 1
    console.print(summary_table(result))
    if result.status != "SUCCEEDED":
        console.print(f"[bold red]{result.error}[/]: {result.cause}")
    if result.marts:
        from rich.table import Table

        counts = Table(title="marts (rows)")
        counts.add_column("mart")
        counts.add_column("rows", justify="right")
        for name, rows in sorted(result.marts.items()):
            counts.add_row(name, f"{rows:,}")
        console.print(counts)
        for name, (columns, rows) in marts.items():
            sample = Table(title=f"marts.{name} (first rows)")
            for column in columns:
                sample.add_column(column)
            for row in rows:
                sample.add_row(*("" if v is None else str(v) for v in row))
            console.print(sample)
    console.print(f"lake on disk: [bold]{platform.lake_dir}[/] (s3/<bucket>/<key>, glue/<database>/<table>.json)")
    console.print('query it: [bold]dataplatform query "SELECT * FROM marts.daily_revenue LIMIT 10"[/]')
    return 0 if result.status == "SUCCEEDED" else 1


@app.command("demo")
def demo(
    scale: Annotated[float, typer.Option("--scale", help="Sample data size (1 = default)", min=0.01)] = 1.0,
    fresh: Annotated[bool, typer.Option("--fresh", help="Start from an empty local lake and database")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the run summary as JSON")] = False,
    window: Annotated[str | None, typer.Option("--window", help="START:END (ISO dates)")] = None,
) -> None:
    """Run the whole workflow locally on sample data: moto, pgserver, local APIs, Spark, DuckDB."""
    raise typer.Exit(_run_local(window=_window(window), datasets=None, scale=scale, fresh=fresh, as_json=as_json))


@app.command("run")
def run(
    window: Annotated[str | None, typer.Option("--window", help="START:END (ISO dates); default: schedule's")] = None,
    datasets: Annotated[
        str | None, typer.Option("--datasets", help="Comma-separated subset, e.g. sales,products")
    ] = None,
    local: Annotated[bool, typer.Option("--local", help="Run on this machine instead of AWS")] = False,
    config: Annotated[Path, typer.Option("--config", "-c", help="Path to pipeline.yaml")] = Path("pipeline.yaml"),
) -> None:
    """Start a pipeline run (AWS: the deployed state machine; --local: the local platform) and follow it."""
    selected = [d.strip() for d in datasets.split(",") if d.strip()] if datasets else None
    if local:
        raise typer.Exit(_run_local(window=_window(window), datasets=selected, scale=1.0, fresh=False, as_json=False))
    from dataplatform.workflow.follow import follow_aws_run

    raise typer.Exit(follow_aws_run(load_config(config), window=_window(window), datasets=selected))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
