"""The workflow's own Lambdas on a bare stack: names, environment and least-privilege prefixes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk.assertions import Template

from dataplatform.config import PipelineConfig
from infra.storage import Storage
from infra.workflow_functions import WORKFLOW_FUNCTIONS, WorkflowFunctions
from tests.infra.conftest import ROOT, bare_stack, resources, role_statements


@pytest.fixture(scope="module")
def template(config: PipelineConfig, config_file: Path) -> Template:
    stack = bare_stack()
    storage = Storage(stack, "Storage", config=config)
    WorkflowFunctions(stack, "WorkflowFunctions", config=config, storage=storage, root=ROOT, config_file=config_file)
    return Template.from_stack(stack)


def _grants(template: Template, folder: str) -> dict[str, set[str]]:
    """`<bucket>/<object pattern>` per access level (read / write) granted to one function's role."""
    (function,) = resources(
        template, "AWS::Lambda::Function", {"FunctionName": f"shop-test-{folder.replace('_', '-')}"}
    ).values()
    buckets = {
        lid: name
        for lid in resources(template, "AWS::S3::Bucket")
        for name in ("Raw", "Curated", "AthenaResults")
        if lid.startswith(f"Storage{name}")
    }
    granted: dict[str, set[str]] = {"read": set(), "write": set()}
    for statement in role_statements(template, function["Properties"]["Role"]["Fn::GetAtt"][0]):
        if "s3:GetObject" not in statement["Action"]:
            continue
        level = "write" if "s3:PutObject" in statement["Action"] else "read"
        objects = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for resource in objects:
            bucket_arn, suffix = resource["Fn::Join"][1]
            granted[level].add(f"{buckets[bucket_arn['Fn::GetAtt'][0]]}{suffix}")
    return granted


def test_one_function_per_workflow_step(template: Template) -> None:
    names = sorted(f["Properties"]["FunctionName"] for f in resources(template, "AWS::Lambda::Function").values())
    assert names == sorted(f"shop-test-{folder.replace('_', '-')}" for folder in WORKFLOW_FUNCTIONS)
    env = next(iter(resources(template, "AWS::Lambda::Function", {"FunctionName": "shop-test-commit-state"}).values()))
    assert env["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "commit_state"


def test_each_step_reads_and_writes_only_its_prefixes(template: Template) -> None:
    raw = {f"Raw/raw/{d}/*" for d in ("rates", "orders", "items")}
    lease = "Curated/runs/*/*/lease.json*"  # released by commit, or by the failed run's audit (dataplatform/lease.py)
    assert _grants(template, "commit_state") == {"read": {*raw, "Curated/runs/*"}, "write": {"Curated/state/*", lease}}
    assert _grants(template, "write_audit") == {
        "read": {*raw, "Curated/runs/*", "Curated/state/*"},
        "write": {"Curated/audit/*", lease, "Curated/runs/*/_run/*"},  # + the run's timeline
    }
    assert _grants(template, "check_quality") == {"read": set(), "write": {"AthenaResults/athena/*", "Curated/runs/*"}}
    assert _grants(template, "resolve_run") == {"read": set(), "write": set()}


def test_write_audit_reads_only_its_own_state_machines_executions(template: Template) -> None:
    role = resources(template, "AWS::Lambda::Function", {"FunctionName": "shop-test-write-audit"})
    role_id = next(iter(role.values()))["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = [s for s in role_statements(template, role_id) if "states:GetExecutionHistory" in str(s["Action"])]
    assert len(statements) == 1 and statements[0]["Action"] == "states:GetExecutionHistory"
    assert statements[0]["Resource"] == "arn:aws:states:eu-central-1:123456789012:execution:shop-test-pipeline:*"


def test_only_check_quality_runs_athena_queries(template: Template) -> None:
    text = json.dumps(resources(template, "AWS::IAM::Policy"))
    assert text.count("athena:StartQueryExecution") == 1
