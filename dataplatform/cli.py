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
