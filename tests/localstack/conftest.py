"""Session fixtures: start LocalStack on the host (localstack/run-host.sh) and deploy the real CDK app to it.

In CI (CI set) nothing here skips: if LocalStack cannot start or the app cannot deploy, the tests fail.
Outside CI the suite skips, with the reason, only when no Python 3.13 exists to run LocalStack with.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.localstack.template_match import Resolver

REPO = Path(__file__).resolve().parents[2]
RUN_HOST = REPO / "localstack" / "run-host.sh"
DEPLOY = REPO / "localstack" / "deploy.sh"
ACCOUNT = "000000000000"
REGION = "us-east-1"
NO_PYTHON = "LocalStack needs Python 3.13"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(command: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)


def tail(result: subprocess.CompletedProcess[str], lines: int = 60) -> str:
    return "\n".join((result.stdout + result.stderr).splitlines()[-lines:])


@pytest.fixture(scope="session")
def localstack_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A LocalStack runtime on a free 127.0.0.1 port, with its own run dir; stopped at the end of the session."""
    port = free_port()
    env = {
        **os.environ,
        "LOCALSTACK_PORT": str(port),
        "LOCALSTACK_HOST_DIR": str(tmp_path_factory.mktemp("localstack-run")),
    }
    started = run([str(RUN_HOST), "start"], env, timeout=900)
    if started.returncode != 0:
        if NO_PYTHON in started.stderr and not os.environ.get("CI"):
            pytest.skip(f"outside CI and no Python 3.13 to run LocalStack with: {started.stderr.strip()}")
        pytest.fail(f"LocalStack did not start (run-host.sh start exited {started.returncode}):\n{tail(started)}")
    try:
        yield env
    finally:
        run([str(RUN_HOST), "stop"], env, timeout=120)


@dataclass
class Deployment:
    """The deployed stacks: their templates, and the physical ID of every resource by logical ID."""

    env: dict[str, str]
    endpoint: str
    templates: dict[str, dict[str, Any]]
    physical: dict[str, str]
    outdir: Path
    destroyed: bool = False
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = boto3.client(
                service,
                endpoint_url=self.endpoint,
                region_name=REGION,
                aws_access_key_id="test",
                aws_secret_access_key="test",
            )
        return self.clients[service]

    def resources(self, *types: str) -> list[tuple[str, str, dict[str, Any]]]:
        """(stack, logical ID, resource) for every template resource of these types."""
        return [
            (stack, logical, resource)
            for stack, template in self.templates.items()
            for logical, resource in template["Resources"].items()
            if resource["Type"] in types
        ]

    @property
    def resolver(self) -> Resolver:
        return Resolver(self.physical, ACCOUNT, REGION)

    def destroy(self) -> subprocess.CompletedProcess[str]:
        result = run([str(DEPLOY), "destroy"], self.env, timeout=600)
        self.destroyed = result.returncode == 0
        return result


def cloud_assembly_stacks(outdir: Path) -> dict[str, Path]:
    """Stack name -> template path, from the cloud assembly manifest that `cdk deploy` wrote."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    return {
        artifact.get("properties", {}).get("stackName", name): outdir / artifact["properties"]["templateFile"]
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }


@pytest.fixture(scope="session")
def deployment(localstack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Bootstrap and deploy the real app (cdk.json at the repo root) with localstack/deploy.sh; destroy at the end.

    LOCALSTACK_TEST_APP_DIR points the suite at another CDK app (a directory with its own cdk.json).
    """
    outdir = tmp_path_factory.mktemp("cdk") / "cdk.out"
    env = {**localstack_env, "CDK_OUTDIR": str(outdir), "AWS_REGION": REGION}
    other_app = os.environ.get("LOCALSTACK_TEST_APP_DIR")
    if other_app:
        env["CDK_APP_DIR"] = other_app
    else:
        # cdk.json's "app" names .venv/bin/python; synthesize with the interpreter running the tests instead.
        env["CDK_APP"] = f"{sys.executable} app.py"
    deployed = run([str(DEPLOY), "deploy"], env, timeout=900)
    if deployed.returncode != 0:
        pytest.fail(f"deploy.sh deploy exited {deployed.returncode}:\n{tail(deployed, 80)}")
    endpoint = f"http://127.0.0.1:{localstack_env['LOCALSTACK_PORT']}"
    stacks = cloud_assembly_stacks(outdir)
    assert stacks, f"the cloud assembly in {outdir} has no stacks"
    templates = {name: json.loads(path.read_text()) for name, path in stacks.items()}
    cloudformation = boto3.client(
        "cloudformation",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    physical: dict[str, str] = {}
    for name in stacks:
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=name):
            for summary in page["StackResourceSummaries"]:
                physical[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
    result = Deployment(env=env, endpoint=endpoint, templates=templates, physical=physical, outdir=outdir)
    try:
        yield result
    finally:
        if not result.destroyed:
            result.destroy()
