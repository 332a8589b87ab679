"""Standardization construct on a bare stack: one Glue 5.1 job per dataset, own security config, least privilege."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from dataplatform.config import PipelineConfig
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


def test_one_glue_51_job_per_dataset_sized_by_the_config(synth: Synth) -> None:
    names = sorted(j["Properties"]["Name"] for j in synth.resources("AWS::Glue::Job").values())
    assert names == [f"shop-test-standardize-{d}" for d in DATASETS]
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


def test_security_configuration_encrypts_s3_logs_and_bookmarks_with_kms(synth: Synth) -> None:
    ((config_id, config),) = synth.resources("AWS::Glue::SecurityConfiguration").items()
    encryption = config["Properties"]["EncryptionConfiguration"]
    assert encryption["S3Encryptions"][0]["S3EncryptionMode"] == "SSE-KMS"
    assert encryption["CloudWatchEncryption"]["CloudWatchEncryptionMode"] == "SSE-KMS"
    assert encryption["JobBookmarksEncryption"]["JobBookmarksEncryptionMode"] == "CSE-KMS"
    for dataset in DATASETS:
        assert _job(synth, dataset)["SecurityConfiguration"] == {"Ref": config_id}


def test_each_job_touches_only_its_own_prefixes_and_table(synth: Synth) -> None:
    for dataset in DATASETS:
        text = json.dumps(_role_policy(synth, dataset))
        assert f"/raw/{dataset}/*" in text
        assert f"/curated/{dataset}/*" in text
        assert f"/curated/_quarantine/{dataset}/*" in text
        assert f"/curated/_staging/{dataset}/*" in text  # the partition swap writes there first
        assert f"table/shop_test_curated/{dataset}" in text
        assert f"table/shop_test_curated/{dataset}_quarantine" in text
        for other in set(DATASETS) - {dataset}:
            assert f"/raw/{other}/" not in text, (dataset, other)
            assert f"/curated/_quarantine/{other}/" not in text, (dataset, other)
            assert f'table/shop_test_curated/{other}"' not in text or other == "rates", (dataset, other)


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
    """dataplatform.catalog.update_catalog: get/create/update the tables, batch-create partitions; nothing else."""
    for dataset in DATASETS:
        (own,) = [s for s in _role_policy(synth, dataset) if s.get("Sid") == "OwnCatalogTable"]
        assert sorted(own["Action"]) == [
            "glue:BatchCreatePartition",
            "glue:CreateTable",
            "glue:GetDatabase",
            "glue:GetTable",
            "glue:UpdateTable",
        ], dataset
