"""The permission check in front of moto, with a CDK-shaped template: what a role may do, how a denial looks to the
caller (botocore's ClientError, per protocol), and what the report says. Also the raw writer's deletes through it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from typing import Any

import boto3
import pytest
from boto3.exceptions import S3UploadFailedError
from botocore.config import Config
from botocore.exceptions import ClientError

from dataplatform.ingest.raw_writer import RawDeleteError, RawWriter
from dataplatform.layout import Lake
from dataplatform.local.iam import LocalIam
from dataplatform.local.iam.identity import as_identity
from dataplatform.local.platform import free_port
from dataplatform.local.template import ACCOUNT, Resolver

RAW, CURATED = "lake-raw", "lake-curated"
NO_RETRY = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})


def grant_prefixes(
    bucket: str, prefixes: list[str], *, write: bool = False, delete: bool = False
) -> list[dict[str, Any]]:
    """The statements infra.storage.Storage.grant_prefixes synthesizes."""
    actions = ["s3:GetObject"] + (["s3:PutObject", "s3:AbortMultipartUpload"] if write else [])
    actions += ["s3:DeleteObject"] if delete else []
    arn = {"Fn::GetAtt": [bucket, "Arn"]}
    return [
        {"Effect": "Allow", "Action": actions, "Resource": [{"Fn::Join": ["", [arn, f"/{p}*"]]} for p in prefixes]},
        {
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
        },
        {
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:DescribeKey"] + (["kms:GenerateDataKey"] if write else []),
            "Resource": {"Fn::GetAtt": ["Key", "Arn"]},
        },
    ]


def lambda_role(name: str, statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        f"{name}Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "sts:AssumeRole",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                        }
                    ]
                }
            },
        },
        f"{name}Policy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": f"{name}Policy",
                "Roles": [{"Ref": f"{name}Role"}],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
            },
        },
        name: {
            "Type": "AWS::Lambda::Function",
            "Properties": {"FunctionName": name.lower(), "Role": {"Fn::GetAtt": [f"{name}Role", "Arn"]}},
        },
    }


def bucket(name: str, physical: str) -> dict[str, Any]:
    return {
        name: {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketName": physical,
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {
                            "ServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": {"Fn::GetAtt": ["Key", "Arn"]},
                            }
                        }
                    ]
                },
            },
        },
        f"{name}Policy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": name},
                "PolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Deny",
                            "Principal": {"AWS": "*"},
                            "Action": "s3:*",
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            "Resource": [
                                {"Fn::GetAtt": [name, "Arn"]},
                                {"Fn::Join": ["", [{"Fn::GetAtt": [name, "Arn"]}, "/*"]]},
                            ],
                        }
                    ]
                },
            },
        },
    }


GLUE = f"arn:aws:glue:us-east-1:{ACCOUNT}"
TEMPLATE = {
    "Resources": {
        "Key": {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "KeyPolicy": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ]
                }
            },
        },
        **bucket("Raw", RAW),
        **bucket("Curated", CURATED),
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alerts"}},
        # The CSV ingest role as infra/ingestion.py grants it, once without and once with the raw delete.
        **lambda_role(
            "IngestSales",
            [
                *grant_prefixes("Raw", ["raw/sales/"], write=True),
                {
                    "Effect": "Allow",
                    "Action": ["glue:GetTable", "glue:GetDatabase"],
                    "Resource": [f"{GLUE}:catalog", f"{GLUE}:database/curated", f"{GLUE}:table/curated/sales"],
                },
            ],
        ),
        **lambda_role("IngestSalesDelete", grant_prefixes("Raw", ["raw/sales/"], write=True, delete=True)),
        **lambda_role("NoKey", grant_prefixes("Raw", ["raw/sales/"], write=True)[:2]),
        **lambda_role("Notifier", [{"Effect": "Allow", "Action": "sns:Publish", "Resource": {"Ref": "Topic"}}]),
    }
}


class Harness:
    def __init__(self, iam: LocalIam, endpoint: str) -> None:
        self.iam, self.endpoint = iam, endpoint

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1", config=NO_RETRY)

    def as_function(self, name: str) -> Any:
        return self.iam.as_function(name)


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    import os

    port = free_port()
    previous = {k: os.environ.get(k) for k in ("MOTO_PORT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update(MOTO_PORT=str(port), AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local")
    iam = LocalIam("strict")
    server = iam.server(port)
    server.start()
    h = Harness(iam, f"http://127.0.0.1:{port}")
    try:
        s3 = h.client("s3")
        for name in (RAW, CURATED):
            s3.create_bucket(Bucket=name)
        s3.put_object(Bucket=RAW, Key="raw/customers/part-00000.jsonl.gz", Body=b"{}")
        glue = h.client("glue")
        for database, table in (("curated", "sales"), ("marts", "kpi")):
            glue.create_database(DatabaseInput={"Name": database})
            glue.create_table(DatabaseName=database, TableInput={"Name": table})
        h.client("sns").create_topic(Name="alerts")
        iam.load(Resolver(TEMPLATE, "local"), h.client("sts"))
        yield h
    finally:
        import requests

        requests.post(f"{h.endpoint}/moto-api/reset", timeout=10)
        server.stop()
        iam.close()
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def error_of(call: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call()
    return {
        "code": raised.value.response["Error"]["Code"],
        "message": raised.value.response["Error"].get("Message", ""),
        "status": raised.value.response["ResponseMetadata"]["HTTPStatusCode"],
    }


def test_a_role_writes_its_prefix_and_is_denied_another_datasets_prefix_like_aws(harness: Harness) -> None:
    s3 = harness.client("s3")
    with harness.as_function("ingestsales"):
        s3.put_object(Bucket=RAW, Key="raw/sales/ingest_date=2024-01-01/run_id=r/part-00000.csv.gz", Body=b"x")
        denied = error_of(lambda: s3.put_object(Bucket=RAW, Key="raw/customers/x.csv", Body=b"x"))
        read = error_of(lambda: s3.get_object(Bucket=RAW, Key="raw/customers/part-00000.jsonl.gz"))
        head = error_of(lambda: s3.head_object(Bucket=RAW, Key="raw/customers/part-00000.jsonl.gz"))
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/local-ingestsalesrole/ingestsales"
    assert denied == {
        "code": "AccessDenied",
        "status": 403,
        "message": (
            f"User: {session} is not authorized to perform: s3:PutObject on resource: "
            f'"arn:aws:s3:::{RAW}/raw/customers/x.csv" '
            "because no identity-based policy allows the s3:PutObject action"
        ),
    }
    assert read["code"] == "AccessDenied" and "s3:GetObject" in read["message"]
    assert (head["code"], head["status"]) == ("403", 403)  # HEAD has no body, on AWS too


def test_listing_is_limited_to_the_granted_prefixes(harness: Harness) -> None:
    s3 = harness.client("s3")
    with harness.as_function("ingestsales"):
        s3.list_objects_v2(Bucket=RAW, Prefix="raw/sales/")
        assert error_of(lambda: s3.list_objects_v2(Bucket=RAW, Prefix="raw/customers/"))["code"] == "AccessDenied"
        assert error_of(lambda: s3.list_objects_v2(Bucket=RAW))["code"] == "AccessDenied"


def test_copy_needs_the_source_and_sse_kms_needs_the_key(harness: Harness) -> None:
    s3 = harness.client("s3")
    with harness.as_function("ingestsales"):
        copy = error_of(
            lambda: s3.copy_object(
                Bucket=RAW,
                Key="raw/sales/copy.gz",
                CopySource={"Bucket": RAW, "Key": "raw/customers/part-00000.jsonl.gz"},
            )
        )
    assert "s3:GetObject" in copy["message"] and "raw/customers/part-00000.jsonl.gz" in copy["message"]
    with harness.as_function("nokey"):
        no_key = error_of(lambda: s3.put_object(Bucket=RAW, Key="raw/sales/x.csv", Body=b"x"))
    assert "kms:GenerateDataKey" in no_key["message"] and ":key/local-key" in no_key["message"]


def test_json_and_query_services_answer_in_their_own_shape(harness: Harness) -> None:
    glue, sns = harness.client("glue"), harness.client("sns")
    with harness.as_function("ingestsales"):
        glue.get_table(DatabaseName="curated", Name="sales")
        table = error_of(lambda: glue.get_table(DatabaseName="marts", Name="kpi"))
        topic = error_of(lambda: sns.publish(TopicArn=f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts", Message="m"))
    assert (table["code"], table["status"]) == ("AccessDeniedException", 400)
    assert f'glue:GetTable on resource: "{GLUE}:database/marts"' in table["message"]
    assert (topic["code"], topic["status"]) == ("AuthorizationError", 403)
    with harness.as_function("notifier"):
        sns.publish(TopicArn=f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts", Message="m")


def test_delete_objects_is_decided_per_key(harness: Harness) -> None:
    s3 = harness.client("s3")
    keys = ["raw/sales/a.csv", "raw/customers/part-00000.jsonl.gz"]
    for key in keys[:1]:
        s3.put_object(Bucket=RAW, Key=key, Body=b"x")
    with harness.as_function("ingestsalesdelete"):
        answer = s3.delete_objects(Bucket=RAW, Delete={"Objects": [{"Key": k} for k in keys]})
    assert [d["Key"] for d in answer.get("Deleted", [])] == ["raw/sales/a.csv"]
    assert [(e["Key"], e["Code"]) for e in answer["Errors"]] == [("raw/customers/part-00000.jsonl.gz", "AccessDenied")]
    assert s3.head_object(Bucket=RAW, Key="raw/customers/part-00000.jsonl.gz")


def leftover_run(harness: Harness) -> RawWriter:
    """An earlier failed attempt of run r1 left a part and its sidecar (no manifest)."""
    s3 = harness.client("s3")
    writer = RawWriter(s3, Lake(raw_bucket=RAW, curated_bucket=CURATED), "sales", date(2024, 1, 1), "r1", "csv.gz")
    for key in (writer.part_key(0), f"{writer.prefix}_parts/part-00000.json"):
        s3.put_object(Bucket=RAW, Key=key, Body=b"{}")
    return writer


def test_clearing_a_failed_attempt_needs_the_raw_delete_grant(harness: Harness) -> None:
    """The ingest role without s3:DeleteObject on raw: S3 reports each key as an error in a 200, and the raw writer
    must stop instead of building a manifest over the stale parts (AWS behaves the same)."""
    writer = leftover_run(harness)
    with harness.as_function("ingestsales"), pytest.raises(RawDeleteError, match="AccessDenied") as failed:
        writer.clear_run()
    assert f"2 of 2 key(s) not deleted, first {writer.prefix}_parts/part-00000.json" in str(failed.value)
    assert writer._list(writer.prefix)  # nothing was deleted
    denied = [d for d in harness.iam.summary().denials if d["action"] == "s3:DeleteObject"]
    assert any(d["resource"] == f"arn:aws:s3:::{RAW}/{writer.part_key(0)}" for d in denied)
    with harness.as_function("ingestsalesdelete"):
        writer.clear_run()
    assert writer._list(writer.prefix) == []


def test_transfers_in_worker_threads_keep_the_tasks_role(harness: Harness, tmp_path: Any) -> None:
    source = tmp_path / "part.csv"
    source.write_bytes(b"a,b\n" * 10)
    s3 = harness.client("s3")
    with harness.as_function("ingestsales"):
        s3.upload_file(str(source), RAW, "raw/sales/uploaded.csv")  # s3transfer signs in its own threads
        with pytest.raises(S3UploadFailedError, match=r"assumed-role/local-ingestsalesrole/.* s3:PutObject"):
            s3.upload_file(str(source), RAW, "raw/customers/uploaded.csv")


def test_a_thread_without_a_role_is_denied_not_admin(harness: Harness) -> None:
    s3 = harness.client("s3")
    errors: list[dict[str, Any]] = []
    with harness.as_function("ingestsales"):
        worker = threading.Thread(target=lambda: errors.append(error_of(lambda: s3.list_buckets())))
        worker.start()
        worker.join()
    assert errors[0]["code"] == "AccessDenied" and "outside any task" in errors[0]["message"]
    assert any(d["reason"] == "no-task-identity" for d in harness.iam.summary().denials)


def test_unmapped_operations_fail_closed_and_are_listed(harness: Harness) -> None:
    glue = harness.client("glue")
    with harness.as_function("ingestsales"):
        failed = error_of(lambda: glue.delete_database(Name="marts"))
    assert failed["code"] == "AccessDeniedException" and "glue:DeleteDatabase is not mapped" in failed["message"]
    assert "glue:DeleteDatabase" in harness.iam.summary().unmapped


def test_a_token_of_another_key_is_refused(harness: Harness) -> None:
    identity = harness.iam._identities[harness.iam.store.function_roles["ingestsales"]]
    forged = type(identity.credentials)(identity.credentials.access_key, identity.credentials.secret_key, "forged")
    with as_identity(forged):
        failed = error_of(lambda: harness.client("s3").list_objects_v2(Bucket=RAW, Prefix="raw/sales/"))
    assert failed["code"] == "AccessDenied"


def test_the_report_names_role_action_resource_decision(harness: Harness, tmp_path: Any) -> None:
    rows = [json.loads(json.dumps(d)) for d in harness.iam.summary().denials]
    assert rows and all({"role", "action", "resource", "decision", "reason"} <= set(r) for r in rows)
    assert all(r["decision"] == "Deny" for r in rows)
