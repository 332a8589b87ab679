"""The whole sample app: cdk-nag passes (and really runs), cfn-lint passes, the constructs are wired together,
assets and options fail clearly. Each construct's own template is tested on a bare stack in its own module."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_iam as iam

from dataplatform.config import load_config
from infra.app_builder import build_app, cdk_json_context
from infra.bundling import MissingAssetError
from infra.nag import apply_nag
from tests.infra.conftest import ROOT, Synth, project_copy, synthesize


def test_cdk_nag_acknowledgments_all_carry_a_reason(synth: Synth) -> None:
    # The session fixture synthesized with AwsSolutions attached: reaching here means zero unacknowledged findings.
    acknowledged: dict[str, str] = {}
    for construct in synth.app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                acknowledged.update({f"{construct.node.path} {k}": v for k, v in entry.data.items()})
    assert acknowledged, "expected the documented acknowledgments to be recorded"
    for where, reason in acknowledged.items():
        assert where.split(" ")[1].startswith("AwsSolutions::AwsSolutions-"), where
        assert len(reason) >= 60, f"{where}: reason too short to explain anything: {reason!r}"
    # Storage, ingestion and standardization need only wildcard (IAM5) and runtime (L1) acknowledgments.
    mine = ("/Storage/", "/Ingestion/", "/Standardization/")
    kinds = {w.split(" ")[1].split("[")[0] for w in acknowledged if any(m in w.split(" ")[0] + "/" for m in mine)}
    assert kinds == {"AwsSolutions::AwsSolutions-IAM5", "AwsSolutions::AwsSolutions-L1"}


def test_cdk_nag_fails_synth_on_an_unacknowledged_finding() -> None:
    app = App(context=cdk_json_context(), builtin_cloud_formation_validation=False)
    stack = Stack(app, "Probe")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"]))
    apply_nag(app, stack)
    with pytest.raises(Exception, match=r"AwsSolutions-IAM5\[Resource::\*\]"):
        app.synth()


def test_named_queries_wait_for_the_workgroup(synth: Synth) -> None:
    (workgroup_id,) = synth.resources("AWS::Athena::WorkGroup")
    named = synth.resources("AWS::Athena::NamedQuery")
    assert named, "the stack has no Athena named queries"
    for logical_id, query in named.items():
        # A Ref creates the dependency; a plain name string would let CloudFormation race the workgroup.
        assert query["Properties"]["WorkGroup"] == {"Ref": workgroup_id}, logical_id


def test_every_function_of_the_app_is_alarmed_and_called_by_the_workflow_or_the_api(synth: Synth) -> None:
    functions = synth.resources("AWS::Lambda::Function")
    config = load_config(ROOT / "pipeline.yaml")
    kinds = {ds.source.kind for ds in config.datasets.values()}
    # the workflow's own five, one per source kind, the API's; no CDK helpers
    assert len(functions) == 5 + len(kinds) + 1
    machines = synth.resources("AWS::StepFunctions::StateMachine").values()
    (machine,) = [m for m in machines if not m["Properties"]["StateMachineName"].endswith("-maintenance")]
    definition = json.dumps(machine["Properties"]["DefinitionString"])
    integrations = json.dumps(synth.resources("AWS::ApiGatewayV2::Integration"))
    alarmed = json.dumps(synth.resources("AWS::CloudWatch::Alarm"))
    for logical_id in functions:
        called = logical_id in definition or logical_id in integrations
        assert called, f"{logical_id} is called neither by the state machine nor by the API"
        assert alarmed.count(f'"Ref": "{logical_id}"') == 2, f"{logical_id}: expected an errors and a throttles alarm"


def test_glue_failure_rule_names_every_standardize_job(synth: Synth) -> None:
    jobs = sorted(j["Properties"]["Name"] for j in synth.resources("AWS::Glue::Job").values())
    (rule,) = [r for r in synth.resources("AWS::Events::Rule").values() if "aws.glue" in json.dumps(r)]
    assert sorted(rule["Properties"]["EventPattern"]["detail"]["jobName"]) == jobs


def test_cfn_lint_passes_on_the_synthesized_template(synth: Synth) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "-i", "W3005", "--", str(synth.template_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_missing_lambda_folder_is_named(tmp_path: Path) -> None:
    root = project_copy(tmp_path)
    shutil.rmtree(root / "lambdas" / "ingest_rest")
    with pytest.raises(MissingAssetError) as info:
        build_app({**cdk_json_context(ROOT), "aws:cdk:bundling-stacks": []}, validation=False, root=root)
    assert str(info.value) == f"Lambda function 'ingest_rest': {root / 'lambdas' / 'ingest_rest'} does not exist"


def test_missing_glue_script_is_named(tmp_path: Path) -> None:
    root = project_copy(tmp_path)
    (root / "glue_jobs" / "standardize_job.py").unlink()
    with pytest.raises(MissingAssetError) as info:
        build_app({**cdk_json_context(ROOT), "aws:cdk:bundling-stacks": []}, validation=False, root=root)
    assert str(info.value) == f"Glue standardization script: {root / 'glue_jobs' / 'standardize_job.py'} does not exist"


VPC_PIPELINE = (
    (ROOT / "pipeline.yaml")
    .read_text()
    .replace("      table: products\n", "      table: products\n      vpc: true\n")
    .replace("raw_retention_days: 90", "raw_retention_days: 7")
    .replace(
        "      kind: csv\n      location: landing/sales/", "      kind: csv\n      location: s3://partner-drop/sales/"
    )
)


def test_variant_config_vpc_retention_and_external_csv_bucket(tmp_path: Path) -> None:
    variant = synthesize(project_copy(tmp_path, VPC_PIPELINE), {"postgres_vpc_id": "vpc-0123456789abcdef0"})
    (postgres,) = variant.resources("AWS::Lambda::Function", {"FunctionName": "retail-ingest-postgres"}).values()
    assert "SubnetIds" in postgres["Properties"]["VpcConfig"]
    (csv,) = variant.resources("AWS::Lambda::Function", {"FunctionName": "retail-ingest-csv"}).values()
    assert "VpcConfig" not in csv["Properties"]
    raw = next(b for lid, b in variant.resources("AWS::S3::Bucket").items() if lid.startswith("StorageRaw"))
    rules = {r["Id"]: r for r in raw["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-raw"]["ExpirationInDays"] == 7
    policies = str(variant.resources("AWS::IAM::Policy"))
    assert "arn:aws:s3:::partner-drop/sales/*" in policies
