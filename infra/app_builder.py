"""Builds the CDK App in-process: used by app.py (`cdk synth`), the tests and the local runner."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment

from dataplatform.config import ConfigError, CsvSource, PipelineConfig, Problem, load_config, sql_dir_of
from infra.nag import apply_nag
from infra.stack import DataPlatformStack

REPO_ROOT = Path(__file__).resolve().parent.parent
# Used only when neither context nor the CDK CLI supplies an account/region (offline synth, tests).
# The template is region-agnostic apart from the env it is synthesized for; deploys always come via the CLI,
# which sets CDK_DEFAULT_ACCOUNT/REGION from the caller's credentials.
PLACEHOLDER_ACCOUNT = "123456789012"
PLACEHOLDER_REGION = "us-east-1"


def cdk_json_context(root: Path = REPO_ROOT) -> dict[str, Any]:
    """The `context` block of cdk.json: feature flags and project settings (a test App does not read cdk.json)."""
    return dict(json.loads((root / "cdk.json").read_text(encoding="utf-8")).get("context", {}))


def stack_name(project: str) -> str:
    return f"{project}-dataplatform"


def build_app(
    context: dict[str, Any] | None = None,
    validation: bool = True,
    root: Path | None = None,
    outdir: str | None = None,
    config_file: Path | None = None,
    local_run: bool = False,
) -> App:
    """Create the App with the data platform stack and cdk-nag attached.

    context: extra context (tests pass cdk.json's context and `aws:cdk:bundling-stacks: []` to skip bundling).
    validation: CDK's built-in CloudFormation validation (about 6 s); tests turn it off.
    root: the project directory holding dataplatform/, lambdas/ and glue_jobs/.
    config_file: the pipeline config (default: context `pipeline_config`, relative to root, else pipeline.yaml);
    its marts and assertions come from the config's `sql_dir` beside it.
    local_run: the local runner synthesizes; CSV sources may then read a directory on this machine.
    Context keys read: `pipeline_config`, `account`, `region`, `postgres_vpc_id`.
    """
    root = (root or REPO_ROOT).resolve()
    app = App(context=context or {}, builtin_cloud_formation_validation=validation, outdir=outdir)
    config_file = (config_file or root / str(app.node.try_get_context("pipeline_config") or "pipeline.yaml")).resolve()
    config = load_config(config_file)
    if not local_run:
        refuse_local_only_sources(config, config_file)
    env = Environment(
        account=app.node.try_get_context("account") or os.environ.get("CDK_DEFAULT_ACCOUNT") or PLACEHOLDER_ACCOUNT,
        region=app.node.try_get_context("region") or os.environ.get("CDK_DEFAULT_REGION") or PLACEHOLDER_REGION,
    )
    stack = DataPlatformStack(
        app,
        stack_name(config.project),
        config=config,
        root=root,
        config_file=config_file,
        sql_dir=sql_dir_of(config, config_file),
        env=env,
        description=f"{config.project} serverless data platform (raw -> curated -> marts)",
    )
    apply_nag(app, stack)
    return app


def refuse_local_only_sources(config: PipelineConfig, config_file: Path) -> None:
    """A CSV location that is a directory on this machine cannot be deployed: say what to use instead."""
    problems = [
        Problem(
            f"datasets.{name}.source.location",
            f"{ds.source.location} is a local directory, which works only in local runs; to deploy, use "
            f"landing/{name}/ and upload files with `dataplatform land --aws {name} FILE`",
        )
        for name, ds in config.datasets.items()
        if isinstance(ds.source, CsvSource) and ds.source.is_local_directory
    ]
    if problems:
        raise ConfigError(str(config_file), problems)
