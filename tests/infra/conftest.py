"""One synthesized template per test session, built in-process from a copy of the project.

The copy lets tests synthesize variants of pipeline.yaml without touching the repository's own file.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App
from aws_cdk.assertions import Template

from infra.app_builder import build_app, cdk_json_context, stack_name

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Synth:
    root: Path
    app: App
    template: Template
    template_file: Path

    def resources(self, kind: str, props: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
        return self.template.find_resources(kind, {"Properties": props} if props else None)


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
