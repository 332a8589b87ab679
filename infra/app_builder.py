"""Builds the CDK App in-process: used by app.py (`cdk synth`), the tests and the local runner."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment

from dataplatform.config import load_config
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
) -> App:
    """Create the App with the data platform stack and cdk-nag attached.

    context: extra context (tests pass cdk.json's context and `aws:cdk:bundling-stacks: []` to skip bundling).
    validation: CDK's built-in CloudFormation validation (about 6 s); tests turn it off.
    root: the project directory holding dataplatform/, lambdas/, glue_jobs/ and pipeline.yaml.
    Context keys read: `pipeline_config` (path relative to root), `account`, `region`, `postgres_vpc_id`.
    """
    root = (root or REPO_ROOT).resolve()
    app = App(context=context or {}, builtin_cloud_formation_validation=validation, outdir=outdir)
    config_file = root / str(app.node.try_get_context("pipeline_config") or "pipeline.yaml")
    config = load_config(config_file)
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
        env=env,
        description=f"{config.project} serverless data platform (raw -> curated -> marts)",
    )
    apply_nag(app, stack)
    return app
