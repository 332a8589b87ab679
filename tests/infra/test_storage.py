"""The storage construct on a bare stack: encryption, public access, TLS, logging, lifecycle, Glue, Athena."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from dataplatform.config import PipelineConfig
from infra.storage import Storage
from tests.infra.conftest import bare_stack, resources


class Synth:
    """The storage template, with the lookups these tests share."""

    def __init__(self, template: Template) -> None:
        self.template = template

    def resources(self, kind: str, props: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
        return resources(self.template, kind, props)


@pytest.fixture(scope="module")
def synth(config: PipelineConfig) -> Synth:
    stack = bare_stack()
    Storage(stack, "Storage", config=config)
    return Synth(Template.from_stack(stack))


def _buckets(synth: Synth) -> dict[str, dict[str, Any]]:
    return synth.resources("AWS::S3::Bucket")


def _bucket(synth: Synth, logical_prefix: str) -> dict[str, Any]:
    matches = [r for lid, r in _buckets(synth).items() if lid.startswith(logical_prefix)]
    assert len(matches) == 1, f"expected one bucket {logical_prefix}*, found {len(matches)}"
    return matches[0]["Properties"]


def _key_id(synth: Synth) -> str:
    (key_id,) = synth.resources("AWS::KMS::Key")
    return key_id


def test_one_kms_key_with_rotation(synth: Synth) -> None:
    synth.template.resource_count_is("AWS::KMS::Key", 1)
    synth.template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    synth.template.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/shop-test-data"})


def test_lake_buckets_use_the_kms_key_and_the_log_bucket_sse_s3(synth: Synth) -> None:
    key = _key_id(synth)
    assert len(_buckets(synth)) == 4
    for name in ("StorageRaw", "StorageCurated", "StorageAthenaResults"):
        (rule,) = _bucket(synth, name)["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule == {
            "BucketKeyEnabled": True,
            "ServerSideEncryptionByDefault": {
                "KMSMasterKeyID": {"Fn::GetAtt": [key, "Arn"]},
                "SSEAlgorithm": "aws:kms",
            },
        }, name
    (rule,) = _bucket(synth, "StorageAccessLogs")["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_every_bucket_blocks_public_access_and_is_versioned(synth: Synth) -> None:
    for logical_id, bucket in _buckets(synth).items():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, logical_id
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, logical_id


def test_every_bucket_policy_denies_plain_http(synth: Synth) -> None:
    policies = synth.resources("AWS::S3::BucketPolicy")
    buckets = set(_buckets(synth))
    covered = set()
    for policy in policies.values():
        props = policy["Properties"]
        covered.add(props["Bucket"]["Ref"])
        tls = [
            s
            for s in props["PolicyDocument"]["Statement"]
            if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        ]
        assert len(tls) == 1, props["Bucket"]
        assert tls[0]["Action"] == "s3:*"
        assert tls[0]["Principal"] == {"AWS": "*"}
    assert covered == buckets


def test_lake_buckets_log_access_to_the_log_bucket(synth: Synth) -> None:
    (log_bucket,) = [lid for lid in _buckets(synth) if lid.startswith("StorageAccessLogs")]
    for name, prefix in (
        ("StorageRaw", "raw/"),
        ("StorageCurated", "curated/"),
        ("StorageAthenaResults", "athena-results/"),
    ):
        assert _bucket(synth, name)["LoggingConfiguration"] == {
            "DestinationBucketName": {"Ref": log_bucket},
            "LogFilePrefix": prefix,
        }


def test_raw_expires_after_retention_and_noncurrent_versions_are_cleaned(synth: Synth) -> None:
    rules = {r["Id"]: r for r in _bucket(synth, "StorageRaw")["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-raw"] == {"Id": "expire-raw", "Prefix": "raw/", "ExpirationInDays": 90, "Status": "Enabled"}
    assert rules["cleanup-noncurrent-versions"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    for name in ("StorageCurated", "StorageAthenaResults", "StorageAccessLogs"):
        lifecycle = _bucket(synth, name)["LifecycleConfiguration"]["Rules"]
        assert any("NoncurrentVersionExpiration" in r for r in lifecycle), name
        # Only the raw zone expires by retention: curated data is kept.
        assert not any(r.get("Prefix") == "raw/" for r in lifecycle), name


def test_glue_databases_are_prefixed_with_the_project(synth: Synth) -> None:
    names = sorted(d["Properties"]["DatabaseInput"]["Name"] for d in synth.resources("AWS::Glue::Database").values())
    assert names == [  # '-' is not allowed there; the staged twins hold the audit step's views
        "shop_test_audit", "shop_test_curated", "shop_test_marts", "shop_test_staged_curated", "shop_test_staged_marts"
    ]  # fmt: skip


def test_athena_workgroup_enforces_kms_results_and_a_scan_cutoff(synth: Synth) -> None:
    key = _key_id(synth)
    (workgroup,) = synth.resources("AWS::Athena::WorkGroup").values()
    props = workgroup["Properties"]
    assert props["Name"] == "shop-test"
    config = props["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["PublishCloudWatchMetricsEnabled"] is True
    assert config["BytesScannedCutoffPerQuery"] == 10 * 1024**3
    result = config["ResultConfiguration"]
    assert result["EncryptionConfiguration"] == {"EncryptionOption": "SSE_KMS", "KmsKey": {"Fn::GetAtt": [key, "Arn"]}}
    (results_bucket,) = [lid for lid in _buckets(synth) if lid.startswith("StorageAthenaResults")]
    assert result["OutputLocation"] == {"Fn::Join": ["", ["s3://", {"Ref": results_bucket}, "/athena/"]]}


def test_outputs_name_the_buckets_and_workgroup(synth: Synth) -> None:
    outputs = synth.template.find_outputs("*")

    def output(name: str) -> dict[str, Any]:
        (match,) = [v for k, v in outputs.items() if k.startswith(f"Storage{name}")]
        return match

    assert output("RawBucketName")["Value"]["Ref"].startswith("StorageRaw")
    assert output("CuratedBucketName")["Value"]["Ref"].startswith("StorageCurated")
    assert output("AthenaWorkgroup")["Value"] == "shop-test"
