"""The template's permissions as the local check reads them, and the least-privilege listing built on a report."""

from __future__ import annotations

from typing import Any

import pytest

from dataplatform.local.iam.evaluator import Principal, evaluate, statement_id
from dataplatform.local.iam.policies import PolicyStore
from dataplatform.local.iam.unused import render, unused_permissions
from dataplatform.local.template import ACCOUNT, REGION, Resolver, TemplateError

LAMBDA_TRUST = {
    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}]
}
WRITE = {
    "Effect": "Allow",
    "Action": ["s3:GetObject", "s3:PutObject"],
    "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": ["Raw", "Arn"]}, "/raw/sales/*"]]},
}
LOGS = {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}


def template(**extra_role_props: Any) -> dict[str, Any]:
    return {
        "Resources": {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": []}}},
            "Raw": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {
                                "ServerSideEncryptionByDefault": {
                                    "SSEAlgorithm": "aws:kms",
                                    "KMSMasterKeyID": {"Fn::GetAtt": ["Key", "Arn"]},
                                }
                            }
                        ]
                    }
                },
            },
            "RawPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"Bucket": {"Ref": "Raw"}, "PolicyDocument": {"Statement": []}},
            },
            "IngestRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": LAMBDA_TRUST, **extra_role_props},
            },
            "IngestPolicy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyName": "IngestPolicy",
                    "Roles": [{"Ref": "IngestRole"}],
                    "PolicyDocument": {"Statement": [WRITE, LOGS]},
                },
            },
            "Ingest": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"FunctionName": "shop-ingest-csv", "Role": {"Fn::GetAtt": ["IngestRole", "Arn"]}},
            },
        }
    }


def store_of(tpl: dict[str, Any]) -> PolicyStore:
    return PolicyStore.from_template(Resolver(tpl, "shop"), ACCOUNT, REGION)


def test_roles_policies_and_resources_resolve_to_the_runners_local_names() -> None:
    store = store_of(
        template(
            ManagedPolicyArns=[
                {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                        ],
                    ]
                }
            ]
        )
    )
    role_arn = store.function_roles["shop-ingest-csv"]
    assert role_arn == f"arn:aws:iam::{ACCOUNT}:role/shop-ingestrole"
    role = store.roles[role_arn]
    assert role.trusts("lambda.amazonaws.com") and not role.trusts("glue.amazonaws.com")
    assert [name for name, _ in role.policies] == ["AWSLambdaBasicExecutionRole", "IngestPolicy"]
    assert store.bucket_keys == {"shop-raw": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/shop-key"}
    assert (
        set(store.bucket_policies) == {"shop-raw"}
        and f"arn:aws:kms:{REGION}:{ACCOUNT}:key/shop-key" in store.key_policies
    )
    principal = Principal(role_arn, f"arn:aws:sts::{ACCOUNT}:assumed-role/shop-ingestrole/shop-ingest-csv")
    assert evaluate(principal, "s3:PutObject", "arn:aws:s3:::shop-raw/raw/sales/x", role.policies).allowed
    assert not evaluate(principal, "s3:PutObject", "arn:aws:s3:::shop-raw/raw/customers/x", role.policies).allowed


def test_an_aws_managed_policy_without_a_local_copy_stops_the_run() -> None:
    with pytest.raises(TemplateError, match=r"AmazonS3FullAccess.*aws_managed\.json"):
        store_of(template(ManagedPolicyArns=["arn:aws:iam::aws:policy/AmazonS3FullAccess"]))


def test_unused_grants_are_listed_with_aws_side_reasons_apart() -> None:
    store = store_of(template())
    role_arn = store.function_roles["shop-ingest-csv"]
    used = {
        "role": role_arn,
        "action": "s3:PutObject",
        "resource": "arn:aws:s3:::shop-raw/raw/sales/a.csv",
        "decision": "Allow",
        "matched": [statement_id("IngestPolicy", store.roles[role_arn].policies[0][1]["Statement"][0])],
    }
    unused = unused_permissions(store, [used])
    candidates = {(u.action, u.resource) for u in unused if u.reason is None}
    assert candidates == {("s3:GetObject", "arn:aws:s3:::shop-raw/raw/sales/*")}
    assert {u.action for u in unused if u.reason} == {"logs:CreateLogStream", "logs:PutLogEvents"}
    # An object action on a bucket ARN, a database action on a table ARN: never reported.
    assert not any(u.action == "s3:ListBucket" and "/" in u.resource.removeprefix("arn:aws:s3:::") for u in unused)
    text = render(unused, store, [used], ["run.jsonl"])
    assert "| IngestRole (function) | `s3:GetObject` | `arn:aws:s3:::shop-raw/raw/sales/*` |" in text
    assert "| IngestRole (function) | `logs:CreateLogStream` | `*` | AWS: the Lambda runtime" in text
    # A denied call uses nothing.
    assert len(unused_permissions(store, [{**used, "decision": "Deny"}])) == len(unused) + 1
