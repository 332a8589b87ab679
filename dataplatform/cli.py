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


@app.command("demo")
def demo() -> None:
    """Run the whole workflow locally (not built yet: see issue 'Workflow ... make demo')."""
    typer.echo(
        "dataplatform demo is not available yet: the local end-to-end run (workflow issue) has not landed.",
        err=True,
    )
    raise typer.Exit(3)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
