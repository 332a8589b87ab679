"""Standardization construct on a bare stack: one Glue 5.1 job per dataset and the publish job, Iceberg from one
place, own security config, least privilege (a job commits only its own Iceberg tables)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from dataplatform.config import PipelineConfig
from dataplatform.transform.iceberg import catalog_conf
from infra.standardization import Standardization
from infra.storage import Storage
from tests.infra.conftest import ACCOUNT, REGION, ROOT, SMALL_DATASETS, bare_stack, resources, role_statements

DATASETS = sorted(SMALL_DATASETS)


class Synth:
    def __init__(self, template: Template) -> None:
        self.template = template

    def resources(self, kind: str, props: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
        return resources(self.template, kind, props)


@pytest.fixture(scope="module")
def synth(config: PipelineConfig, config_file: Path) -> Synth:
    stack = bare_stack()
    storage = Storage(stack, "Storage", config=config)
    Standardization(stack, "Standardization", config=config, storage=storage, root=ROOT, config_file=config_file)
    return Synth(Template.from_stack(stack))


def _job(synth: Synth, dataset: str) -> dict[str, Any]:
    found = synth.resources("AWS::Glue::Job", {"Name": f"shop-test-standardize-{dataset}"})
    assert len(found) == 1, dataset
    return next(iter(found.values()))["Properties"]


def _role_policy(synth: Synth, dataset: str) -> list[dict[str, Any]]:
    return role_statements(synth.template, _job(synth, dataset)["Role"]["Fn::GetAtt"][0])


def _publish(synth: Synth) -> dict[str, Any]:
    (found,) = synth.resources("AWS::Glue::Job", {"Name": "shop-test-publish"}).values()
    return dict(found["Properties"])


def test_one_glue_51_job_per_dataset_sized_by_the_config_and_the_publish_job(synth: Synth) -> None:
    names = sorted(j["Properties"]["Name"] for j in synth.resources("AWS::Glue::Job").values())
    assert names == ["shop-test-publish", *(f"shop-test-standardize-{d}" for d in DATASETS)]
    assert _publish(synth)["GlueVersion"] == "5.1"
    for dataset in DATASETS:
        props = _job(synth, dataset)
        assert props["GlueVersion"] == "5.1"
        assert props["Command"]["Name"] == "glueetl"
        assert props["Command"]["PythonVersion"] == "3"
        assert props["WorkerType"] == "G.2X"
        assert props["NumberOfWorkers"] == 3
        assert props["Timeout"] == 20
        assert props["MaxRetries"] == 0
        assert props["ExecutionProperty"] == {"MaxConcurrentRuns": 1}


def test_default_arguments_follow_the_contract(synth: Synth) -> None:
    args = _job(synth, "orders")["DefaultArguments"]
    assert args["--dataset"] == "orders"
    (curated,) = [lid for lid in synth.resources("AWS::S3::Bucket") if lid.startswith("StorageCurated")]
    assert args["--curated_root"] == {"Fn::Join": ["", ["s3://", {"Ref": curated}, "/curated/"]]}
    assert args["--quarantine_root"] == {"Fn::Join": ["", ["s3://", {"Ref": curated}, "/curated/_quarantine/"]]}
    # pipeline.yaml and the dataplatform zip are CDK file assets in the bootstrap bucket (content-hash keys).
    assets = f"s3://cdk-hnb659fds-assets-{ACCOUNT}-{REGION}"
    assert re.fullmatch(rf"{assets}/[0-9a-f]{{64}}\.yaml", args["--config_uri"])
    assert re.fullmatch(rf"{assets}/[0-9a-f]{{64}}\.zip", args["--extra-py-files"])
    assert args["--enable-auto-scaling"] == "true"
    assert args["--enable-metrics"] == ""
    assert args["--enable-continuous-cloudwatch-log"] == "true"
    assert args["--job-bookmark-option"] == "job-bookmark-disable"
    assert args["--curated_database"] == "shop_test_curated"
    assert "--run_id" not in args and "--manifest_uris" not in args  # given per run by the workflow


def test_every_job_gets_the_iceberg_catalog_settings_from_the_one_place(synth: Synth) -> None:
    (curated,) = [lid for lid in synth.resources("AWS::S3::Bucket") if lid.startswith("StorageCurated")]
    expected = catalog_conf("s3://BUCKET/curated/")
    for props in [*(_job(synth, d) for d in DATASETS), _publish(synth)]:
        args = props["DefaultArguments"]
        assert args["--datalake-formats"] == "iceberg"
        conf = "".join(p if isinstance(p, str) else "BUCKET" for p in args["--conf"]["Fn::Join"][1])
        assert args["--conf"]["Fn::Join"][1][1] == {"Ref": curated}
        pairs = dict(item.split("=", 1) for item in conf.split(" --conf "))
        assert pairs == expected


def test_security_configuration_encrypts_s3_logs_and_bookmarks_with_kms(synth: Synth) -> None:
    ((config_id, config),) = synth.resources("AWS::Glue::SecurityConfiguration").items()
    encryption = config["Properties"]["EncryptionConfiguration"]
    assert encryption["S3Encryptions"][0]["S3EncryptionMode"] == "SSE-KMS"
    assert encryption["CloudWatchEncryption"]["CloudWatchEncryptionMode"] == "SSE-KMS"
    assert encryption["JobBookmarksEncryption"]["JobBookmarksEncryptionMode"] == "CSE-KMS"
    for dataset in DATASETS:
        assert _job(synth, dataset)["SecurityConfiguration"] == {"Ref": config_id}


def _glue_statements(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in statements if any(str(a).startswith("glue:") for a in _list(s["Action"]))]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_each_job_touches_only_its_own_prefixes_and_commits_only_its_own_tables(synth: Synth) -> None:
    for dataset in DATASETS:
        statements = _role_policy(synth, dataset)
        text = json.dumps(statements)
        assert f"/raw/{dataset}/*" in text
        assert f"/curated/{dataset}/*" in text
        assert f"/curated/_quarantine/{dataset}/*" in text
        assert "_staging" not in text
        for other in set(DATASETS) - {dataset}:
            assert f"/raw/{other}/" not in text, (dataset, other)
            assert f"/curated/_quarantine/{other}/" not in text, (dataset, other)
        writes = [s for s in _glue_statements(statements) if "glue:UpdateTable" in _list(s["Action"])]
        (commit,) = writes
        assert sorted(_list(commit["Action"])) == [
            "glue:CreateTable", "glue:GetDatabase", "glue:GetTable", "glue:UpdateTable"
        ]  # fmt: skip
        tables = sorted(r.split(":table/")[1] for r in json.dumps(commit["Resource"]).split('"') if ":table/" in r)
        assert tables == [f"shop_test_curated/{dataset}", f"shop_test_curated/{dataset}_quarantine"]
        assert "Partition" not in text  # Iceberg tables have no catalog partitions


def test_the_publish_job_moves_main_of_every_table_and_creates_none(synth: Synth) -> None:
    statements = role_statements(synth.template, _publish(synth)["Role"]["Fn::GetAtt"][0])
    (commit,) = _glue_statements(statements)
    assert sorted(_list(commit["Action"])) == ["glue:GetDatabase", "glue:GetTable", "glue:UpdateTable"]
    tables = sorted(r.split("/")[-1] for r in json.dumps(commit["Resource"]).split('"') if ":table/" in r)
    assert tables == sorted([*DATASETS, *(f"{d}_quarantine" for d in DATASETS)])
    text = json.dumps(statements)
    assert "/runs/*/orders/*" in text and "/raw/" not in text
    assert "s3:DeleteObject" not in text


def test_dependents_read_their_dependencies_read_only(synth: Synth) -> None:
    for dataset in DATASETS:
        statements = _role_policy(synth, dataset)
        reads_rates = [s for s in statements if "/curated/rates/*" in json.dumps(s["Resource"])]
        if dataset == "orders":  # depends_on: [rates]
            assert len(reads_rates) == 1, dataset
            assert reads_rates[0]["Action"] == "s3:GetObject"
        elif dataset != "rates":
            assert reads_rates == [], dataset


def test_each_job_may_call_only_the_catalog_apis_its_code_calls(synth: Synth) -> None:
    """Iceberg's GlueCatalog: load (GetDatabase, GetTable), create on first run, commit (UpdateTable); nothing else
    (no partition APIs: Iceberg keeps partitions in its own metadata)."""
    for dataset in DATASETS:
        (own,) = [s for s in _role_policy(synth, dataset) if s.get("Sid") == "OwnIcebergTables"]
        assert sorted(own["Action"]) == [
            "glue:CreateTable",
            "glue:GetDatabase",
            "glue:GetTable",
            "glue:UpdateTable",
        ], dataset
