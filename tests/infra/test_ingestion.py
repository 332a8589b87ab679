"""Ingestion construct: one function per source kind, contract environment, least-privilege grants."""

from __future__ import annotations

import json
from typing import Any

from tests.infra.conftest import Synth

KINDS = {"csv": ["sales"], "rest": ["customers", "exchange_rates"], "postgres": ["products", "transactions"]}
DATASETS = [d for ds in KINDS.values() for d in ds]


def _function(synth: Synth, kind: str) -> dict[str, Any]:
    found = synth.resources("AWS::Lambda::Function", {"FunctionName": f"retail-ingest-{kind}"})
    assert len(found) == 1, kind
    return next(iter(found.values()))["Properties"]


def _policy_text(synth: Synth, kind: str) -> str:
    """All statements of the function role's policies, as JSON text with CDK tokens in place."""
    role = _function(synth, kind)["Role"]["Fn::GetAtt"][0]
    statements = [
        s
        for p in synth.resources("AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert statements, kind
    return json.dumps(statements)


def test_one_function_per_source_kind(synth: Synth) -> None:
    names = [f["Properties"].get("FunctionName", "") for f in synth.resources("AWS::Lambda::Function").values()]
    assert sorted(n for n in names if "-ingest-" in n) == [
        "retail-ingest-csv",
        "retail-ingest-postgres",
        "retail-ingest-rest",
    ]
    for kind, memory in (("csv", 512), ("rest", 512), ("postgres", 1024)):
        props = _function(synth, kind)
        assert props["Runtime"] == "python3.12"
        assert props["Architectures"] == ["x86_64"]  # the bundled wheels are manylinux x86_64
        assert props["Handler"] == "handler.handler"
        assert props["Timeout"] == 900
        assert props["MemorySize"] == memory
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert "VpcConfig" not in props  # no dataset sets vpc: true in the sample


def test_environment_follows_the_contract(synth: Synth) -> None:
    env = _function(synth, "csv")["Environment"]["Variables"]
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
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "retail"


def test_log_groups_have_retention(synth: Synth) -> None:
    for kind in KINDS:
        synth.template.has_resource_properties(
            "AWS::Logs::LogGroup", {"LogGroupName": f"/aws/lambda/retail-ingest-{kind}", "RetentionInDays": 30}
        )


def test_each_function_writes_only_its_own_raw_prefixes(synth: Synth) -> None:
    for kind, own in KINDS.items():
        text = _policy_text(synth, kind)
        for dataset in DATASETS:
            granted = f"/raw/{dataset}/*" in text and f"/runs/*/{dataset}/*" in text
            assert granted == (dataset in own), (kind, dataset)
        deleting = [st for st in json.loads(text) if "s3:DeleteObject" in st["Action"]]
        # raw is immutable; only a rejected landing file is moved away (copy to rejected/, delete from landing/)
        assert all("/landing/" in json.dumps(st["Resource"]) for st in deleting), kind
        assert '"s3:*"' not in text and "s3:PutObject*" not in text, kind


def test_only_csv_reads_the_landing_prefix(synth: Synth) -> None:
    assert "/landing/sales/*" in _policy_text(synth, "csv")
    assert "landing/" not in _policy_text(synth, "rest") + _policy_text(synth, "postgres")


def test_csv_moves_rejected_landing_files_to_its_rejected_prefix(synth: Synth) -> None:
    statements = json.loads(_policy_text(synth, "csv"))
    writes = [st for st in statements if "s3:PutObject" in st["Action"]]
    assert any("/rejected/sales/*" in json.dumps(st["Resource"]) for st in writes)
    deletes = [st for st in statements if "s3:DeleteObject" in st["Action"]]
    assert deletes and all("/landing/sales/*" in json.dumps(st["Resource"]) for st in deletes)
    assert "rejected/" not in _policy_text(synth, "rest") + _policy_text(synth, "postgres")


def test_each_function_reads_only_its_own_secrets(synth: Synth) -> None:
    assert "secretsmanager" not in _policy_text(synth, "csv")
    rest = _policy_text(synth, "rest")
    assert ":secret:retail/customer-api-??????" in rest and "retail/postgres" not in rest
    postgres = _policy_text(synth, "postgres")
    assert ":secret:retail/postgres-??????" in postgres and "customer-api" not in postgres


def test_state_is_readable_but_not_writable_by_ingestion(synth: Synth) -> None:
    statements = json.loads(_policy_text(synth, "csv"))
    state = [s for s in statements if "/state/" in json.dumps(s.get("Resource"))]
    assert state, "ingestion must read the committed watermark and the landing markers"
    for statement in state:
        assert statement["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    text = json.dumps(state)
    assert "/state/sales.json*" in text and "/state/sales/*" in text  # watermark and processed-file markers
    listing = [s for s in statements if s["Action"] == "s3:ListBucket" and "state/sales/*" in json.dumps(s)]
    assert len(listing) == 1


def test_postgres_stages_parts_with_room_in_tmp(synth: Synth) -> None:
    assert _function(synth, "postgres")["EphemeralStorage"] == {"Size": 2048}
    assert _function(synth, "csv")["EphemeralStorage"] == {"Size": 512}  # CSV streams: the minimum is plenty
