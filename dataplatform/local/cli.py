"""`dataplatform` command line: thin typer commands; the work happens in dataplatform.local and .workflow."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dataplatform.config import ConfigError, PipelineConfig, load_config

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Serverless data platform: run your pipeline locally or on AWS, land files, query the lake.",
)

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="The pipeline config (its sql/ folder sits beside it)")
]
LakeDirOption = Annotated[
    Path | None,
    typer.Option("--lake-dir", help="Local lake (default: $DATAPLATFORM_LAKE_DIR, else ./.local-lake)"),
]
WindowOption = Annotated[str | None, typer.Option("--window", help="START:END (ISO dates, inclusive)")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print only the run summary as JSON")]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Show the JVM/moto/handler log live")]
IamReportOption = Annotated[
    Path | None,
    typer.Option(
        "--iam-report", help="Write every permission decision of the run (role, action, resource) as JSON Lines"
    ),
]


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _config(path: Path) -> PipelineConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise fail("\n".join(exc.messages)) from None


def _window(text: str | None) -> tuple[str, str] | None:
    if not text:
        return None
    from pydantic import ValidationError

    from dataplatform.workflow.run import Window

    try:
        window = Window.parse(text)
    except ValidationError as exc:
        raise fail(f"--window {text}: {exc.errors()[0]['msg'].removeprefix('Value error, ')}") from None
    except ValueError as exc:
        raise fail(f"--window {text}: {exc}") from None
    return window.start.isoformat(), window.end.isoformat()


def _datasets(text: str | None) -> list[str] | None:
    return [d.strip() for d in text.split(",") if d.strip()] if text else None


@app.command("validate")
def validate(config: ConfigOption = Path("pipeline.yaml")) -> None:
    """Check the pipeline config and its sql/ folder; print the standardization waves."""
    from dataplatform.athena.sqlfiles import SqlFileError, load_sql_files, unknown_reads
    from dataplatform.config import sql_dir_of

    cfg = _config(config)
    sql_dir = sql_dir_of(cfg, config)
    try:
        files = load_sql_files(sql_dir)
    except SqlFileError as exc:
        raise fail(str(exc)) from None
    problems = unknown_reads(files, cfg)
    if problems:
        raise fail("\n".join(problems))
    typer.echo(f"{config}: OK, {len(cfg.datasets)} datasets, {len(files)} SQL files in {sql_dir}")
    for i, wave in enumerate(cfg.waves(), 1):
        typer.echo(f"  wave {i}: {', '.join(wave)}")


@app.command("query")
def query(
    sql: Annotated[str | None, typer.Argument(help="Athena (Trino) SQL; curated./marts./audit. names work")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Run a SQL file (e.g. sql/marts/...)")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table, csv or json", case_sensitive=False)] = "table",
    lake_dir: LakeDirOption = None,
    config: ConfigOption = Path("pipeline.yaml"),
    database: Annotated[
        str, typer.Option("--database", "-d", help="Database for unqualified table names (logical or Glue name)")
    ] = "curated",
    curated_bucket: Annotated[
        str | None, typer.Option("--curated-bucket", envvar="CURATED_BUCKET", help="For {{ curated_bucket }}")
    ] = None,
) -> None:
    """Run Athena SQL against the local lake (DuckDB), e.g. after `make demo`."""
    from dataplatform.local.athena.query_command import run_query  # DuckDB and sqlglot load only for this command

    raise typer.Exit(run_query(sql, file, output_format, lake_dir, config, curated_bucket, database=database))


def _run_local(request: object) -> int:
    from dataplatform.local.local_run import InputError, run_locally

    try:
        return run_locally(request)  # type: ignore[arg-type]
    except InputError as exc:
        raise fail(str(exc)) from None


@app.command("demo")
def demo(
    scale: Annotated[float, typer.Option("--scale", help="Sample data size (1 = default)", min=0.01)] = 1.0,
    fresh: Annotated[bool, typer.Option("--fresh", help="Start from an empty local lake and database")] = False,
    as_json: JsonOption = False,
    window: WindowOption = None,
    lake_dir: LakeDirOption = None,
    verbose: VerboseOption = False,
    iam_report: IamReportOption = None,
) -> None:
    """Run the sample pipeline locally: sample Postgres and APIs, moto, Spark, DuckDB; print the marts."""
    from dataplatform.local.local_run import LocalRunRequest
    from dataplatform.local.platform import LocalOptions
    from dataplatform.local.sample_data import DEFAULT_WINDOW

    window_given = _window(window) or (DEFAULT_WINDOW[0].isoformat(), DEFAULT_WINDOW[1].isoformat())
    options = LocalOptions(lake_dir=lake_dir, scale=scale, fresh=fresh, sample_services=True, iam_report=iam_report)
    request = LocalRunRequest(options, window=window_given, as_json=as_json, verbose=verbose, write_report=True)
    raise typer.Exit(_run_local(request))


@app.command("run")
def run(
    window: WindowOption = None,
    datasets: Annotated[
        str | None, typer.Option("--datasets", help="Comma-separated subset, e.g. sales,products")
    ] = None,
    local: Annotated[bool, typer.Option("--local", help="Run on this machine instead of AWS")] = False,
    config: ConfigOption = Path("pipeline.yaml"),
    lake_dir: LakeDirOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
    sample_services: Annotated[
        bool | None,
        typer.Option(
            "--sample-services/--no-sample-services",
            help="Start the demo's sample Postgres and APIs (default: only for the sample pipeline.yaml)",
        ),
    ] = None,
    secrets: Annotated[
        Path | None, typer.Option("--secrets", help="Local secrets file (default: .local-secrets.yaml beside config)")
    ] = None,
    iam_report: IamReportOption = None,
) -> None:
    """Run the pipeline once and follow it: on AWS (the deployed state machine) or, with --local, on this machine."""
    selected = _datasets(datasets)
    window_given = _window(window)
    if not local:
        from dataplatform.workflow.follow import follow_aws_run

        raise typer.Exit(follow_aws_run(_config(config), window=window_given, datasets=selected))
    from dataplatform.local.local_run import LocalRunRequest
    from dataplatform.local.platform import SAMPLE_CONFIG, LocalOptions

    if not config.is_file():
        raise fail(f"{config}: file not found")
    use_samples = config.resolve() == SAMPLE_CONFIG if sample_services is None else sample_services
    options = LocalOptions(
        config=config, lake_dir=lake_dir, sample_services=use_samples, secrets_file=secrets, iam_report=iam_report
    )
    raise typer.Exit(
        _run_local(LocalRunRequest(options, window=window_given, datasets=selected, as_json=as_json, verbose=verbose))
    )


@app.command("land")
def land(
    dataset: Annotated[str, typer.Argument(help="A CSV dataset of the config")],
    files: Annotated[list[Path], typer.Argument(help="CSV files to land")],
    config: ConfigOption = Path("pipeline.yaml"),
    lake_dir: LakeDirOption = None,
    aws: Annotated[
        bool, typer.Option("--aws", help="Land in the deployed raw bucket instead of the local lake")
    ] = False,
) -> None:
    """Put files into a CSV dataset's landing prefix; the next run ingests them."""
    from dataplatform.local import landing
    from dataplatform.local.lake_store import resolve_lake_dir
    from dataplatform.local.local_run import InputError

    cfg = _config(config)
    try:
        prefix = landing.landing_prefix(cfg, dataset, config)
        paths = landing.check_files(files)
        if aws:
            import boto3

            bucket = landing.deployed_raw_bucket(cfg, boto3.client("cloudformation"))
            landed = landing.land_on_aws(boto3.client("s3"), bucket, prefix, paths)
        else:
            lake = resolve_lake_dir(lake_dir)
            bucket = landing.raw_bucket_locally(lake, cfg, config)
            landed = landing.land_locally(lake, bucket, prefix, paths)
    except InputError as exc:
        raise fail(str(exc)) from None
    for uri in landed:
        typer.echo(f"landed {uri}")
    where = "the next scheduled or landing-triggered run" if aws else "the next `dataplatform run --local`"
    typer.echo(f"{len(landed)} file(s) for {dataset}; {where} ingests them")


@app.command("serve")
def serve(
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1", min=0, max=65535)] = 8765,
    lake_dir: LakeDirOption = None,
    config: ConfigOption = Path("pipeline.yaml"),
) -> None:
    """Serve the HTTP API (the deployed routes) on 127.0.0.1 over the local lake, with local uploads."""
    from dataplatform.local.serve import ServeOptions
    from dataplatform.local.serve import serve as serve_api

    _config(config)  # a bad config fails here with its messages
    raise typer.Exit(serve_api(ServeOptions(config_file=config, lake_dir=lake_dir, port=port), echo=typer.echo))


@app.command("report")
def report(
    run_id: Annotated[str | None, typer.Argument(help="A run id (default: the newest run)")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write")] = Path("run-report.html"),
    lake_dir: LakeDirOption = None,
    config: ConfigOption = Path("pipeline.yaml"),
) -> None:
    """Write one run's console page (timeline, conservation, quarantine, assertions) as a self-contained HTML file."""
    from dataplatform.local.lake_store import resolve_lake_dir
    from dataplatform.local.report import ReportError, write_report

    _config(config)
    try:
        written_id, path = write_report(config, resolve_lake_dir(lake_dir), out, run_id)
    except ReportError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"run {written_id}: {path}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
