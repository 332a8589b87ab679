"""Standardization construct: one Glue 5.1 job per dataset with its own security config and least privilege."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.infra.conftest import Synth

DATASETS = ["customers", "exchange_rates", "products", "sales", "transactions"]


def _job(synth: Synth, dataset: str) -> dict[str, Any]:
    found = synth.resources("AWS::Glue::Job", {"Name": f"retail-standardize-{dataset}"})
    assert len(found) == 1, dataset
    return next(iter(found.values()))["Properties"]


def _role_policy(synth: Synth, dataset: str) -> list[dict[str, Any]]:
    role = _job(synth, dataset)["Role"]["Fn::GetAtt"][0]
    return [
        s
        for p in synth.resources("AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_one_glue_51_job_per_dataset(synth: Synth) -> None:
    names = sorted(j["Properties"]["Name"] for j in synth.resources("AWS::Glue::Job").values())
    assert names == [f"retail-standardize-{d}" for d in DATASETS]
    for dataset in DATASETS:
        props = _job(synth, dataset)
        assert props["GlueVersion"] == "5.1"
        assert props["Command"]["Name"] == "glueetl"
        assert props["Command"]["PythonVersion"] == "3"
        assert props["WorkerType"] == "G.1X"
        assert props["NumberOfWorkers"] == 2
        assert props["Timeout"] == 30
        assert props["MaxRetries"] == 0
        assert props["ExecutionProperty"] == {"MaxConcurrentRuns": 1}


def test_default_arguments_follow_the_contract(synth: Synth) -> None:
    args = _job(synth, "sales")["DefaultArguments"]
    assert args["--dataset"] == "sales"
    assert "curated/" in json.dumps(args["--curated_root"])
    assert "curated/_quarantine/" in json.dumps(args["--quarantine_root"])
    # pipeline.yaml and the dataplatform zip are CDK file assets in the bootstrap bucket (content-hash keys).
    assert re.fullmatch(r"s3://cdk-hnb659fds-assets-123456789012-us-east-1/[0-9a-f]{64}\.yaml", args["--config_uri"])
    assert re.fullmatch(r"s3://cdk-hnb659fds-assets-123456789012-us-east-1/[0-9a-f]{64}\.zip", args["--extra-py-files"])
    assert args["--enable-auto-scaling"] == "true"
    assert args["--enable-metrics"] == ""
    assert args["--enable-continuous-cloudwatch-log"] == "true"
    assert args["--job-bookmark-option"] == "job-bookmark-disable"
    assert args["--curated_database"] == "retail_curated"
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
        assert f"table/retail_curated/{dataset}" in text
        assert f"table/retail_curated/{dataset}_quarantine" in text
        for other in set(DATASETS) - {dataset}:
            assert f"/raw/{other}/" not in text, (dataset, other)
            assert f"/curated/_quarantine/{other}/" not in text, (dataset, other)
            assert f'table/retail_curated/{other}"' not in text or other == "exchange_rates", (dataset, other)


def test_dependents_read_exchange_rates_read_only(synth: Synth) -> None:
    for dataset in DATASETS:
        statements = _role_policy(synth, dataset)
        reads_rates = [s for s in statements if "/curated/exchange_rates/*" in json.dumps(s["Resource"])]
        if dataset in ("sales", "transactions"):
            assert len(reads_rates) == 1, dataset
            assert reads_rates[0]["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
        elif dataset != "exchange_rates":
            assert reads_rates == [], dataset
