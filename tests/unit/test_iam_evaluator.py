"""The local IAM evaluator against AWS's documented evaluation rules, including every kind of case moto 5.2's own
access control decides wrongly (FINDINGS of the issue-17 spike: `?`, literal `.`, case of actions, NotResource,
s3:prefix conditions, conditional denies, principals in resource policies, KMS key policies)."""

from __future__ import annotations

from typing import Any

import pytest

from dataplatform.local.iam.evaluator import (
    Principal,
    UnsupportedPolicy,
    conditions_hold,
    denial_message,
    evaluate,
    statement_id,
    wildcard_match,
)

ACCOUNT = "123456789012"
ROLE = Principal(f"arn:aws:iam::{ACCOUNT}:role/ingest", f"arn:aws:sts::{ACCOUNT}:assumed-role/ingest/retail-ingest-csv")
OTHER = Principal(f"arn:aws:iam::{ACCOUNT}:role/other", f"arn:aws:sts::{ACCOUNT}:assumed-role/other/s")
RAW = "arn:aws:s3:::raw"
SALES_OBJECT = f"{RAW}/raw/sales/ingest_date=2024-01-01/run_id=r1/part-00000.csv.gz"


def policy(*statements: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "Policy", {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def decide(action: str, resource: str, *statements: dict[str, Any], context: dict[str, Any] | None = None) -> str:
    return evaluate(ROLE, action, resource, [policy(*statements)], context=context).reason


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("arn:aws:s3:::raw/raw/sales/*", SALES_OBJECT, True),
        ("arn:aws:s3:::raw/raw/sales/*", "arn:aws:s3:::raw/raw/customers/x.csv", False),
        ("arn:aws:s3:::raw/raw/sales/*", "arn:aws:s3:::raw/raw/salesX/x.csv", False),
        ("arn:aws:s3:::raw/raw/sales/*", "arn:aws:s3:::raw/raw/sales", False),  # S3A's directory HEAD
        ("arn:aws:s3:::raw/part-?.csv", "arn:aws:s3:::raw/part-1.csv", True),  # `?` is one character
        ("arn:aws:s3:::raw/part-?.csv", "arn:aws:s3:::raw/part-10.csv", False),
        ("arn:aws:s3:::raw/part-1.csv", "arn:aws:s3:::raw/part-1Xcsv", False),  # `.` is literal
        (
            "arn:aws:secretsmanager:*:*:secret:retail/api-??????",
            "arn:aws:secretsmanager:us-east-1:1:secret:retail/api-AbC123",
            True,
        ),
        ("arn:aws:glue:*:*:table/db/(x)[y]", "arn:aws:glue:r:1:table/db/(x)[y]", True),  # regex characters are literal
        ("*", "anything/at:all", True),
    ],
)
def test_wildcards(pattern: str, value: str, matches: bool) -> None:
    assert wildcard_match(pattern, value) is matches


def test_actions_match_case_insensitively_resources_case_sensitively() -> None:
    assert decide("s3:GetObject", SALES_OBJECT, allow("s3:getobject", f"{RAW}/raw/sales/*")) == "allowed-by-identity"
    assert decide("s3:GetObject", SALES_OBJECT, allow("S3:Get*", f"{RAW}/raw/sales/*")) == "allowed-by-identity"
    assert decide("s3:GetObject", SALES_OBJECT, allow("s3:GetObject", f"{RAW}/RAW/sales/*")) == "implicit-deny"


def test_explicit_deny_beats_any_allow() -> None:
    statements = [allow("s3:*"), {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": f"{RAW}/raw/*"}]
    assert decide("s3:DeleteObject", SALES_OBJECT, *statements) == "explicit-deny-identity"
    assert decide("s3:PutObject", SALES_OBJECT, *statements) == "allowed-by-identity"
    resource_policy = policy(
        {"Effect": "Deny", "Principal": {"AWS": ROLE.role_arn}, "Action": "s3:*", "Resource": f"{RAW}/*"}
    )
    decision = evaluate(ROLE, "s3:GetObject", SALES_OBJECT, [policy(allow("s3:*"))], resource_policy)
    assert decision.reason == "explicit-deny-resource"


def test_nothing_allows_means_implicit_deny() -> None:
    assert decide("s3:PutObject", SALES_OBJECT) == "implicit-deny"
    assert decide("s3:PutObject", SALES_OBJECT, allow("s3:GetObject", f"{RAW}/*")) == "implicit-deny"


def test_not_action_and_not_resource() -> None:
    everything_but_delete = {"Effect": "Allow", "NotAction": "s3:Delete*", "Resource": "*"}
    assert decide("s3:PutObject", SALES_OBJECT, everything_but_delete) == "allowed-by-identity"
    assert decide("s3:DeleteObject", SALES_OBJECT, everything_but_delete) == "implicit-deny"
    outside_sales = {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": f"{RAW}/raw/sales/*"}
    assert decide("s3:GetObject", SALES_OBJECT, outside_sales) == "implicit-deny"
    assert decide("s3:GetObject", f"{RAW}/raw/customers/x", outside_sales) == "allowed-by-identity"
    # moto 5.2 treated this Deny as an Allow of everything.
    deny_outside = {"Effect": "Deny", "Action": "s3:*", "NotResource": f"{RAW}/raw/sales/*"}
    assert decide("s3:GetObject", f"{RAW}/raw/customers/x", allow("s3:*"), deny_outside) == "explicit-deny-identity"
    assert decide("s3:GetObject", SALES_OBJECT, allow("s3:*"), deny_outside) == "allowed-by-identity"
    assert decide("s3:GetObject", SALES_OBJECT, {"Effect": "Allow", "Resource": "*"}) == "implicit-deny"  # no action


def test_list_bucket_prefix_condition_as_grant_prefixes_writes_it() -> None:
    listing = allow("s3:ListBucket", RAW, Condition={"StringLike": {"s3:prefix": ["raw/sales/*"]}})
    assert (
        decide("s3:ListBucket", RAW, listing, context={"s3:prefix": "raw/sales/ingest_date=2024-01-01/"})
        == "allowed-by-identity"
    )
    assert decide("s3:ListBucket", RAW, listing, context={"s3:prefix": "raw/customers/"}) == "implicit-deny"
    assert decide("s3:ListBucket", RAW, listing, context={"s3:prefix": ""}) == "implicit-deny"
    assert decide("s3:ListBucket", RAW, listing) == "implicit-deny"  # a missing key makes the condition false


def test_conditional_deny_applies_only_when_its_condition_holds() -> None:
    ssl_only = {
        "Effect": "Deny",
        "Action": "s3:*",
        "Resource": f"{RAW}/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    assert (
        decide("s3:GetObject", SALES_OBJECT, allow("s3:*"), ssl_only, context={"aws:SecureTransport": "true"})
        == "allowed-by-identity"
    )
    assert (
        decide("s3:GetObject", SALES_OBJECT, allow("s3:*"), ssl_only, context={"aws:SecureTransport": "false"})
        == "explicit-deny-identity"
    )
    region = {
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}},
    }
    assert (
        decide("s3:GetObject", SALES_OBJECT, allow("s3:*"), region, context={"aws:RequestedRegion": "us-east-1"})
        == "allowed-by-identity"
    )
    assert (
        decide("s3:GetObject", SALES_OBJECT, allow("s3:*"), region, context={"aws:RequestedRegion": "eu-west-1"})
        == "explicit-deny-identity"
    )


@pytest.mark.parametrize(
    ("condition", "context", "holds"),
    [
        ({"StringEquals": {"cloudwatch:namespace": "Glue"}}, {"cloudwatch:namespace": "Glue"}, True),
        ({"StringEquals": {"cloudwatch:namespace": "Glue"}}, {"cloudwatch:namespace": "glue"}, False),
        ({"StringEqualsIgnoreCase": {"k": "Glue"}}, {"k": "glue"}, True),
        ({"StringEquals": {"k": ["a", "b"]}}, {"k": "b"}, True),  # values of one key: OR
        ({"StringEquals": {"k": "a", "j": "b"}}, {"k": "a", "j": "c"}, False),  # keys: AND
        ({"StringEquals": {"k": "a"}, "StringLike": {"j": "b*"}}, {"k": "a", "j": "bc"}, True),  # operators: AND
        ({"StringNotEquals": {"k": ["a", "b"]}}, {"k": "c"}, True),
        ({"StringNotEquals": {"k": ["a", "b"]}}, {"k": "a"}, False),
        ({"StringNotEquals": {"k": "a"}}, {}, True),  # negated operator, missing key: true (AWS docs)
        ({"StringEquals": {"k": "a"}}, {}, False),  # missing key: false
        ({"StringEqualsIfExists": {"k": "a"}}, {}, True),
        ({"StringEqualsIfExists": {"k": "a"}}, {"k": "b"}, False),
        ({"Null": {"k": "true"}}, {}, True),
        ({"Null": {"k": "false"}}, {"k": "x"}, True),
        ({"Null": {"k": "true"}}, {"k": "x"}, False),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:states:us-east-1:1:stateMachine:*"}},
            {"aws:SourceArn": "arn:aws:states:us-east-1:1:stateMachine:p"},
            True,
        ),
        (
            {"ArnEquals": {"aws:SourceArn": "arn:aws:events:r:1:rule/x"}},
            {"aws:SourceArn": "arn:aws:events:r:1:rule/y"},
            False,
        ),
        ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": True}, True),
        ({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "5"}, True),
        ({"NumericGreaterThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "5"}, False),
        (
            {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
            {"aws:CurrentTime": "2026-11-30T00:00:00Z"},
            True,
        ),
        ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "10.1.2.3"}, True),
        ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "10.1.2.3"}, False),
        ({"ForAnyValue:StringLike": {"k": ["a*"]}}, {"k": ["x", "ab"]}, True),
        ({"ForAllValues:StringLike": {"k": ["a*"]}}, {"k": ["x", "ab"]}, False),
        ({"ForAllValues:StringLike": {"k": ["a*"]}}, {}, True),  # vacuously true
        ({"StringEquals": {"aws:username": "${aws:username}"}}, {"aws:username": "ingest"}, True),
        ({"StringEquals": {"K": "a"}}, {"k": "a"}, True),  # condition keys are case-insensitive
    ],
)
def test_condition_operators(condition: dict[str, Any], context: dict[str, Any], holds: bool) -> None:
    assert conditions_hold(condition, context) is holds


def test_an_unknown_operator_stops_instead_of_deciding() -> None:
    with pytest.raises(UnsupportedPolicy, match="StringSoundsLike"):
        conditions_hold({"StringSoundsLike": {"k": "a"}}, {"k": "a"})
    with pytest.raises(UnsupportedPolicy, match="ForSomeValues"):
        conditions_hold({"ForSomeValues:StringLike": {"k": "a"}}, {"k": "a"})


def test_policy_variables_in_resources() -> None:
    own_prefix = allow("s3:GetObject", f"{RAW}/home/${{aws:username}}/*")
    assert decide("s3:GetObject", f"{RAW}/home/ingest/x", own_prefix) == "allowed-by-identity"
    assert decide("s3:GetObject", f"{RAW}/home/other/x", own_prefix) == "implicit-deny"
    assert decide("s3:GetObject", f"{RAW}/x", allow("s3:GetObject", f"{RAW}/${{aws:nothing}}")) == "implicit-deny"


def test_resource_policies_apply_only_to_the_principals_they_name() -> None:
    bucket_policy = policy(
        {"Effect": "Deny", "Principal": {"AWS": OTHER.role_arn}, "Action": "s3:*", "Resource": f"{RAW}/*"}
    )
    # moto 5.2 applied a Deny for one role to everyone.
    assert evaluate(ROLE, "s3:GetObject", SALES_OBJECT, [policy(allow("s3:*"))], bucket_policy).allowed
    assert not evaluate(OTHER, "s3:GetObject", SALES_OBJECT, [policy(allow("s3:*"))], bucket_policy).allowed
    grant = policy(
        {"Effect": "Allow", "Principal": {"AWS": ROLE.role_arn}, "Action": "s3:GetObject", "Resource": f"{RAW}/*"}
    )
    assert evaluate(ROLE, "s3:GetObject", SALES_OBJECT, [], grant).reason == "allowed-by-resource"
    assert evaluate(OTHER, "s3:GetObject", SALES_OBJECT, [], grant).reason == "implicit-deny"
    not_principal = policy(
        {"Effect": "Deny", "NotPrincipal": {"AWS": ROLE.role_arn}, "Action": "s3:*", "Resource": "*"}
    )
    assert evaluate(ROLE, "s3:GetObject", SALES_OBJECT, [policy(allow("s3:*"))], not_principal).allowed
    assert (
        evaluate(OTHER, "s3:GetObject", SALES_OBJECT, [policy(allow("s3:*"))], not_principal).reason
        == "explicit-deny-resource"
    )


def test_cdk_enforce_ssl_bucket_policy_denies_only_plain_http() -> None:
    enforce_ssl = policy(
        {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "s3:*",
            "Resource": [RAW, f"{RAW}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    identity = [policy(allow("s3:GetObject", f"{RAW}/raw/sales/*"))]
    assert evaluate(ROLE, "s3:GetObject", SALES_OBJECT, identity, enforce_ssl, {"aws:SecureTransport": "true"}).allowed
    plain = evaluate(ROLE, "s3:GetObject", SALES_OBJECT, identity, enforce_ssl, {"aws:SecureTransport": "false"})
    assert plain.reason == "explicit-deny-resource"


KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/lake"
CDK_KEY_POLICY = policy(
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
)


def test_kms_needs_the_key_policy_and_with_delegation_an_identity_grant() -> None:
    grant = [policy(allow(["kms:Decrypt", "kms:GenerateDataKey"], KEY))]
    assert (
        evaluate(ROLE, "kms:Decrypt", KEY, grant, CDK_KEY_POLICY, resource_policy_required=True).reason
        == "allowed-by-identity"
    )
    assert (
        evaluate(ROLE, "kms:Decrypt", KEY, [], CDK_KEY_POLICY, resource_policy_required=True).reason == "implicit-deny"
    )
    services_only = policy(
        {"Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"}, "Action": "kms:*", "Resource": "*"}
    )
    assert (
        evaluate(ROLE, "kms:Decrypt", KEY, grant, services_only, resource_policy_required=True).reason
        == "no-resource-policy-grant"
    )
    direct = policy({"Effect": "Allow", "Principal": {"AWS": ROLE.role_arn}, "Action": "kms:Decrypt", "Resource": "*"})
    assert evaluate(ROLE, "kms:Decrypt", KEY, [], direct, resource_policy_required=True).reason == "allowed-by-resource"


def test_the_deciding_statements_are_named() -> None:
    statements = [allow("s3:GetObject", f"{RAW}/*", Sid="ReadRaw"), allow("s3:*")]
    decision = evaluate(ROLE, "s3:GetObject", SALES_OBJECT, [("IngestPolicy", {"Statement": statements})])
    assert decision.matched == ("IngestPolicy#ReadRaw", statement_id("IngestPolicy", statements[1]))
    assert decision.matched[1].startswith("IngestPolicy#") and len(decision.matched[1]) == len("IngestPolicy#") + 8


def test_denial_message_names_principal_action_and_resource_like_aws() -> None:
    decision = evaluate(ROLE, "s3:PutObject", SALES_OBJECT, [])
    assert denial_message(ROLE, "s3:PutObject", SALES_OBJECT, decision) == (
        f"User: {ROLE.session_arn} is not authorized to perform: s3:PutObject on resource: "
        f'"{SALES_OBJECT}" because no identity-based policy allows the s3:PutObject action'
    )
