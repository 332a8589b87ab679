"""The template-vs-deployment matcher the LocalStack suite relies on: it must reject wrong deployments."""

from __future__ import annotations

import pytest

from tests.localstack.template_match import Resolver, lifecycle_rule_to_api

RESOLVER = Resolver(
    physical={
        "RawBucket": "stack-rawbucket-abc",
        "Fn": "stack-Fn-123",
        "FnRole": "stack-FnRole-xyz",
        "Flow": "arn:aws:states:us-east-1:000000000000:stateMachine:stack-Flow-9",
        "Dlq": "http://127.0.0.1:4566/000000000000/stack-Dlq-a576",  # an SQS queue's Ref is its URL
    },
    account="000000000000",
    region="us-east-1",
)


def test_ref_must_be_the_exact_physical_id() -> None:
    assert RESOLVER.matches({"B": {"Ref": "RawBucket"}}, {"B": "stack-rawbucket-abc"}) == []
    assert RESOLVER.matches({"B": {"Ref": "RawBucket"}}, {"B": "stack-rawbucket-abcd"})


def test_getatt_arn_must_contain_the_physical_id() -> None:
    promised = {"Fn::GetAtt": ["FnRole", "Arn"]}
    assert RESOLVER.matches(promised, "arn:aws:iam::000000000000:role/stack-FnRole-xyz") == []
    assert RESOLVER.matches(promised, "arn:aws:iam::000000000000:role/other-role")


def test_getatt_arn_of_a_queue_matches_the_queue_name_of_its_url() -> None:
    promised = {"Fn::GetAtt": ["Dlq", "Arn"]}
    assert RESOLVER.matches(promised, "arn:aws:sqs:us-east-1:000000000000:stack-Dlq-a576") == []
    assert RESOLVER.matches(promised, "arn:aws:sqs:us-east-1:000000000000:stack-Other-b123")


def test_join_keeps_literal_text_and_resolves_parts() -> None:
    promised = {
        "Fn::Join": [
            "",
            ['{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"', {"Fn::GetAtt": ["Fn", "Arn"]}, '"}}}'],
        ]
    }
    good = (
        '{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:0:function:stack-Fn-123"}}}'
    )
    assert RESOLVER.matches(promised, good) == []
    assert RESOLVER.matches(promised, good.replace('"StartAt":"A"', '"StartAt":"B"'))
    assert RESOLVER.matches(promised, good.replace("stack-Fn-123", "stack-Other-1"))


def test_sub_and_pseudo_parameters() -> None:
    promised = {"Fn::Sub": "arn:${AWS::Partition}:s3:::${RawBucket}/*"}
    assert RESOLVER.matches(promised, "arn:aws:s3:::stack-rawbucket-abc/*") == []
    assert RESOLVER.matches(promised, "arn:aws:s3:::stack-rawbucket-abc/raw/*")


def test_dicts_allow_service_defaults_but_not_missing_or_different_values() -> None:
    promised = {"SSEAlgorithm": "aws:kms", "BucketKeyEnabled": True}
    assert RESOLVER.matches(promised, {"SSEAlgorithm": "aws:kms", "BucketKeyEnabled": "true", "Extra": 1}) == []
    assert RESOLVER.matches(promised, {"SSEAlgorithm": "AES256", "BucketKeyEnabled": True})
    assert RESOLVER.matches(promised, {"SSEAlgorithm": "aws:kms"})


def test_lists_compare_pairwise_and_by_length() -> None:
    assert RESOLVER.matches(["s3:GetObject", "s3:PutObject"], ["s3:GetObject", "s3:PutObject"]) == []
    assert RESOLVER.matches(["s3:GetObject", "s3:PutObject"], ["s3:GetObject"])
    assert RESOLVER.matches(["s3:GetObject"], "s3:GetObject") == []  # IAM returns a lone action as a string


def test_lifecycle_rule_maps_to_the_s3_api_shape() -> None:
    rule = {
        "Id": "tmp",
        "Status": "Enabled",
        "Prefix": "tmp/",
        "ExpirationInDays": 7,
        "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
        "Transitions": [{"StorageClass": "GLACIER", "TransitionInDays": 90}],
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    }
    assert lifecycle_rule_to_api(rule) == {
        "ID": "tmp",
        "Status": "Enabled",
        "Filter": {"Prefix": "tmp/"},
        "Expiration": {"Days": 7},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
        "Transitions": [{"StorageClass": "GLACIER", "Days": 90}],
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    }
    with pytest.raises(AssertionError, match="not mapped"):
        lifecycle_rule_to_api({"Status": "Enabled", "NewFancyKey": 1})
