"""Infra test fixtures.

Construct tests build one construct (and what it needs) on a bare `Stack` from a small config: one dataset per
source kind, a dependency between two of them, and a project name with a '-' (which Glue database names turn
into '_'). Only test_app.py synthesizes the whole sample app, with cdk-nag attached, from a copy of the project.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk.assertions import Template

from dataplatform.config import PipelineConfig, parse_config
from infra.app_builder import build_app, cdk_json_context, stack_name
from infra.storage import Storage

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT, REGION = "123456789012", "eu-central-1"

SMALL_PIPELINE = """\
project: shop-test
schedule: {cron: "0 4 * * ? *", timezone: Europe/Paris}
glue: {worker_type: G.2X, number_of_workers: 3, timeout_minutes: 20}
datasets:
  rates:
    source: {kind: rest, base_url: "https://rates.example.com", auth: {type: bearer, secret: shop/rates-token}}
    contract:
      key: [code, day]
      partition_column: day
      columns: [{name: code, type: string}, {name: day, type: date}, {name: rate, type: "decimal(18,8)"}]
  orders:
    source: {kind: csv, location: landing/orders}
    depends_on: [rates]
    contract:
      key: [order_id]
      partition_column: day
      columns: [{name: order_id, type: bigint}, {name: day, type: date}, {name: amount, type: "decimal(12,2)"}]
  items:
    source: {kind: postgres, connection_secret: shop/db, table: items}
    contract:
      key: [item_id]
      partition_column: day
      columns: [{name: item_id, type: bigint}, {name: day, type: date}]
"""
SMALL_DATASETS = ("rates", "orders", "items")
SMALL_KINDS = {"rest": ["rates"], "csv": ["orders"], "postgres": ["items"]}


@pytest.fixture(scope="session")
def config() -> PipelineConfig:
    return parse_config(SMALL_PIPELINE, file="small.yaml")


@pytest.fixture(scope="session")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small config as a file: Lambda and Glue assets bundle it."""
    path = tmp_path_factory.mktemp("config") / "pipeline.yaml"
    path.write_text(SMALL_PIPELINE, encoding="utf-8")
    return path


def bare_stack(context: dict[str, Any] | None = None) -> Stack:
    """An empty stack with cdk.json's feature flags and Lambda bundling skipped (a test App reads no cdk.json)."""
    app = App(
        context={**cdk_json_context(ROOT), "aws:cdk:bundling-stacks": [], **(context or {})},
        builtin_cloud_formation_validation=False,
    )
    return Stack(app, "Test", env=Environment(account=ACCOUNT, region=REGION))


@pytest.fixture
def stack_with_storage(config: PipelineConfig) -> Callable[[], tuple[Stack, Storage]]:
    def build() -> tuple[Stack, Storage]:
        stack = bare_stack()
        return stack, Storage(stack, "Storage", config=config)

    return build


def resources(template: Template, kind: str, props: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    return template.find_resources(kind, {"Properties": props} if props else None)


def role_statements(template: Template, role_logical_id: str) -> list[dict[str, Any]]:
    """Every statement of the policies attached to one role."""
    return [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_logical_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


# ---------------------------------------------------------------- the whole sample app (test_app.py)


@dataclass
class Synth:
    root: Path
    app: App
    template: Template
    template_file: Path

    def resources(self, kind: str, props: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
        return resources(self.template, kind, props)


def project_copy(target: Path, pipeline_text: str | None = None) -> Path:
    """Copy what the app reads into `target`, so a test can synthesize a variant pipeline.yaml."""
    for name in ("dataplatform", "lambdas", "glue_jobs", "sql"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "cdk.json", target / "cdk.json")
    (target / "pipeline.yaml").write_text(pipeline_text or (ROOT / "pipeline.yaml").read_text(), encoding="utf-8")
    return target


def synthesize(root: Path, extra_context: dict[str, Any] | None = None) -> Synth:
    context = {**cdk_json_context(ROOT), "aws:cdk:bundling-stacks": [], **(extra_context or {})}
    app = build_app(context, validation=False, root=root, outdir=str(root / "cdk.out"))
    assembly = app.synth()  # runs cdk-nag: an unacknowledged finding raises here
    project = app.node.children[0].node.id  # the one stack
    artifact = assembly.get_stack_by_name(project)
    return Synth(
        root=root,
        app=app,
        template=Template.from_json(artifact.template),
        template_file=Path(assembly.directory) / artifact.template_file,
    )


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The sample pipeline.yaml, cdk.json's context: what `cdk synth` deploys."""
    result = synthesize(project_copy(tmp_path_factory.mktemp("app")))
    assert result.app.node.children[0].node.id == stack_name("retail")
    return result
