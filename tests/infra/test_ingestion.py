"""Ingestion construct on a bare stack: one function per source kind, contract environment, least-privilege grants."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from dataplatform.config import SOURCE_KINDS, PipelineConfig, parse_config
from infra.ingestion import Ingestion
from infra.storage import Storage
from tests.infra.conftest import (
    ROOT,
    SMALL_DATASETS,
    SMALL_KINDS,
    SMALL_PIPELINE,
    bare_stack,
    resources,
    role_statements,
)


def build(config: PipelineConfig, config_file: Path, context: dict[str, Any] | None = None) -> Template:
    stack = bare_stack(context)
    storage = Storage(stack, "Storage", config=config)
    Ingestion(stack, "Ingestion", config=config, storage=storage, root=ROOT, config_file=config_file)
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def template(config: PipelineConfig, config_file: Path) -> Template:
    return build(config, config_file)


def _function(template: Template, kind: str) -> dict[str, Any]:
    found = resources(template, "AWS::Lambda::Function", {"FunctionName": f"shop-test-ingest-{kind}"})
    assert len(found) == 1, kind
    return next(iter(found.values()))["Properties"]


def _policy_text(template: Template, kind: str) -> str:
    """All statements of the function role's policies, as JSON text with CDK tokens in place."""
    statements = role_statements(template, _function(template, kind)["Role"]["Fn::GetAtt"][0])
    assert statements, kind
    return json.dumps(statements)


def test_one_function_per_source_kind_sized_by_the_registry(template: Template) -> None:
    names = [f["Properties"].get("FunctionName", "") for f in resources(template, "AWS::Lambda::Function").values()]
    assert sorted(n for n in names if "-ingest-" in n) == [f"shop-test-ingest-{k}" for k in sorted(SMALL_KINDS)]
    for kind in SMALL_KINDS:
        props = _function(template, kind)
        assert props["Runtime"] == "python3.12"
        assert props["Architectures"] == ["x86_64"]  # the bundled wheels are manylinux x86_64
        assert props["Handler"] == "handler.handler"
        assert props["Timeout"] == 900
        assert props["MemorySize"] == SOURCE_KINDS[kind].memory_mb
        assert props["EphemeralStorage"] == {"Size": SOURCE_KINDS[kind].ephemeral_storage_mb}
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert "VpcConfig" not in props
    assert _function(template, "postgres")["EphemeralStorage"] == {"Size": 2048}  # parts are staged in /tmp


def test_no_function_for_a_kind_the_config_does_not_use(config_file: Path) -> None:
    only_rest = parse_config(SMALL_PIPELINE.split("  orders:")[0])
    names = [
        f["Properties"]["FunctionName"]
        for f in resources(build(only_rest, config_file), "AWS::Lambda::Function").values()
    ]
    assert names == ["shop-test-ingest-rest"]


def test_environment_follows_the_contract(template: Template) -> None:
    env = _function(template, "csv")["Environment"]["Variables"]
    assert set(env) == {
        "RAW_BUCKET",
        "CURATED_BUCKET",
        "PIPELINE_CONFIG",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_LOG_LEVEL",
    }
    assert env["RAW_BUCKET"]["Ref"].startswith("StorageRaw")
    assert env["CURATED_BUCKET"]["Ref"].startswith("StorageCurated")
    assert env["PIPELINE_CONFIG"] == "/var/task/pipeline.yaml"
    assert env["POWERTOOLS_SERVICE_NAME"] == "ingest_csv"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "shop-test"


def test_log_groups_have_retention(template: Template) -> None:
    for kind in SMALL_KINDS:
        template.has_resource_properties(
            "AWS::Logs::LogGroup", {"LogGroupName": f"/aws/lambda/shop-test-ingest-{kind}", "RetentionInDays": 30}
        )


def test_each_function_writes_only_its_own_raw_prefixes(template: Template) -> None:
    for kind, own in SMALL_KINDS.items():
        text = _policy_text(template, kind)
        for dataset in SMALL_DATASETS:
            granted = f"/raw/{dataset}/*" in text and f"/runs/*/{dataset}/*" in text
            assert granted == (dataset in own), (kind, dataset)
        # Deletes only inside its own raw prefixes (the writer clears a failed attempt of the same run before
        # writing again, dataplatform/ingest/raw_writer.py) and landing (a rejected file is moved to rejected/);
        # runs/ and state/ are never deleted.
        for statement in json.loads(text):
            if "s3:DeleteObject" in statement["Action"]:
                resources = json.dumps(statement["Resource"])
                assert "/runs/" not in resources and "/state/" not in resources, kind
                assert "/raw/" in resources or "/landing/" in resources, kind
        assert "s3:DeleteObject" in text, kind
        assert '"s3:*"' not in text and "s3:PutObject*" not in text, kind


def test_only_csv_reads_the_landing_prefix(template: Template) -> None:
    # `location: landing/orders` (no trailing '/') is granted, and listed, as the prefix `landing/orders/`.
    assert "/landing/orders/*" in _policy_text(template, "csv")
    assert "landing/" not in _policy_text(template, "rest") + _policy_text(template, "postgres")


def test_csv_moves_rejected_landing_files_to_its_rejected_prefix(template: Template) -> None:
    statements = json.loads(_policy_text(template, "csv"))
    writes = [st for st in statements if "s3:PutObject" in st["Action"]]
    assert any("/rejected/orders/*" in json.dumps(st["Resource"]) for st in writes)
    deletes = [st for st in statements if "s3:DeleteObject" in st["Action"]]
    assert any("/landing/orders/*" in json.dumps(st["Resource"]) for st in deletes)
    assert "rejected/" not in _policy_text(template, "rest") + _policy_text(template, "postgres")


def test_each_function_reads_only_its_own_secrets(template: Template) -> None:
    assert "secretsmanager" not in _policy_text(template, "csv")
    rest = _policy_text(template, "rest")
    assert ":secret:shop/rates-token-??????" in rest and "shop/db" not in rest
    postgres = _policy_text(template, "postgres")
    assert ":secret:shop/db-??????" in postgres and "rates-token" not in postgres
    assert "secretsmanager:DescribeSecret" not in rest + postgres  # only GetSecretValue is ever called


def test_state_is_readable_but_not_writable_by_ingestion(template: Template) -> None:
    statements = json.loads(_policy_text(template, "csv"))
    state = [s for s in statements if "/state/" in json.dumps(s.get("Resource"))]
    assert state, "ingestion must read the committed watermark and the landing markers"
    for statement in state:
        assert statement["Action"] == "s3:GetObject"
    text = json.dumps(state)
    assert "/state/orders.json*" in text and "/state/orders/processed/*" in text  # watermark, processed markers
    listing = [s for s in statements if s["Action"] == "s3:ListBucket" and "state/orders/processed/*" in json.dumps(s)]
    assert len(listing) == 1


def test_vpc_and_external_csv_bucket(config_file: Path) -> None:
    variant = parse_config(
        SMALL_PIPELINE.replace("table: items}", "table: items, vpc: true}").replace(
            "location: landing/orders", "location: s3://partner-drop/orders/"
        )
    )
    template = build(variant, config_file, {"postgres_vpc_id": "vpc-0123456789abcdef0"})
    assert "SubnetIds" in _function(template, "postgres")["VpcConfig"]
    assert "VpcConfig" not in _function(template, "csv")
    csv = _policy_text(template, "csv")
    assert "arn:aws:s3:::partner-drop/orders/*" in csv and "landing/" not in csv


def test_vpc_needs_the_context_value(config: PipelineConfig, config_file: Path) -> None:
    variant = parse_config(SMALL_PIPELINE.replace("table: items}", "table: items, vpc: true}"))
    with pytest.raises(ValueError) as info:
        build(variant, config_file)
    assert str(info.value) == (
        "datasets items set 'vpc: true' but cdk.json has no context value 'postgres_vpc_id'; add the VPC id "
        "there (or pass -c postgres_vpc_id=vpc-...)"
    )
