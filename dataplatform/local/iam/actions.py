"""A wire request, as moto's endpoint receives it from boto3 or a JVM SDK -> the IAM checks AWS would make.

S3 is mapped from the REST request (method, path, query, headers, and DeleteObjects' body); the JSON and query
protocols from a table of the operations the project, S3A and Iceberg's GlueCatalog issue. An operation that is
not in a table raises Unmapped and is denied (fail closed): a new call needs a row here, and the report lists it.
Resources are ARNs as AWS authorizes them (an S3 object, a Glue catalog/database/table triple, a secret's full ARN).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote
from xml.etree import ElementTree

Json = dict[str, Any]
IAM_PREFIX = {"monitoring": "cloudwatch", "email": "ses"}
"""SigV4 signing names that differ from the IAM service prefix."""


@dataclass(frozen=True)
class Check:
    action: str
    resource: str
    context: Json = field(default_factory=dict)
    kind: str | None = None
    """What kind of resource policy may apply: s3-object | s3-bucket | kms-key | sns-topic | secret | None."""


@dataclass(frozen=True)
class Request:
    service: str
    """SigV4 signing name from the credential scope (s3, glue, monitoring, states, ...)."""
    protocol: str
    """rest-xml (S3) | json | query: decides the shape of an AccessDenied answer."""
    operation: str
    checks: list[Check]
    access_key: str | None
    session_token: str | None
    region: str


class Unmapped(Exception):
    def __init__(self, service: str, operation: str, protocol: str) -> None:
        super().__init__(f"{service}:{operation}")
        self.service, self.operation, self.protocol = service, operation, protocol


class Lookups(Protocol):
    """Facts only the running backend knows (moto, in this process)."""

    def secret_arn(self, secret_id: str) -> str: ...

    def query_workgroup(self, query_execution_id: str) -> str: ...


def credential_scope(environ: Json) -> tuple[str | None, str | None, str | None]:
    """(access key, region, signing service) from the Authorization header or a presigned URL's query."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    credential = None
    if "Credential=" in authorization:
        credential = authorization.split("Credential=", 1)[1].split(",", 1)[0].strip()
    else:
        credential = parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential", [None])[0]
    if not credential:
        return None, None, None
    parts = credential.split("/")  # AKID/date/region/service/aws4_request
    return (parts[0], parts[2], parts[3]) if len(parts) >= 4 else (parts[0], None, None)


# --------------------------------------------------------------------- S3 (REST, path-style)
BUCKET_SUBRESOURCES = {
    ("GET", "location"): "s3:GetBucketLocation",
    ("GET", "versioning"): "s3:GetBucketVersioning",
    ("GET", "policy"): "s3:GetBucketPolicy",
    ("GET", "tagging"): "s3:GetBucketTagging",
    ("GET", "encryption"): "s3:GetEncryptionConfiguration",
    ("GET", "uploads"): "s3:ListBucketMultipartUploads",
    ("GET", "versions"): "s3:ListBucketVersions",
    ("GET", "acl"): "s3:GetBucketAcl",
}


def _object_context(headers: Json) -> Json:
    context: Json = {}
    if headers.get("HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION"):
        context["s3:x-amz-server-side-encryption"] = headers["HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION"]
    key_id = headers.get("HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION_AWS_KMS_KEY_ID")
    if key_id:
        context["s3:x-amz-server-side-encryption-aws-kms-key-id"] = key_id
    return context


def deleted_keys(body: bytes) -> list[str]:
    """The keys of a DeleteObjects request body (namespaced or not)."""
    root = ElementTree.fromstring(body)
    return [el.text or "" for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "Key"]


def s3_checks(
    method: str, path: str, query: dict[str, list[str]], headers: Json, body: bytes
) -> tuple[str, list[Check]]:
    """(operation, checks) of one path-style S3 request."""
    bucket, _, key = path.lstrip("/").partition("/")
    key = unquote(key)
    bucket_arn = f"arn:aws:s3:::{bucket}"
    object_arn = f"{bucket_arn}/{key}"
    present = set(query)

    def bucket_check(action: str, context: Json | None = None) -> list[Check]:
        return [Check(action, bucket_arn, context or {}, "s3-bucket")]

    def object_check(action: str) -> list[Check]:
        return [Check(action, object_arn, _object_context(headers), "s3-object")]

    if not bucket:
        if method == "GET":
            return "ListBuckets", [Check("s3:ListAllMyBuckets", "*")]
        raise Unmapped("s3", f"{method} /", "rest-xml")
    if not key:
        for (verb, subresource), action in BUCKET_SUBRESOURCES.items():
            if method == verb and subresource in present:
                return action.split(":")[1], bucket_check(action)
        if method == "GET" and not present - {
            "list-type",
            "prefix",
            "delimiter",
            "max-keys",
            "continuation-token",
            "start-after",
            "encoding-type",
            "marker",
            "fetch-owner",
        }:
            context = {"s3:prefix": query.get("prefix", [""])[0]}  # AWS evaluates a missing prefix as ""
            for name in ("delimiter", "max-keys"):
                if name in query:
                    context[f"s3:{name}"] = query[name][0]
            operation = "ListObjectsV2" if query.get("list-type", [""])[0] == "2" else "ListObjects"
            return operation, bucket_check("s3:ListBucket", context)
        if method == "HEAD" and not present:
            return "HeadBucket", bucket_check("s3:ListBucket")
        if method == "POST" and "delete" in present:
            return "DeleteObjects", [
                Check("s3:DeleteObject", f"{bucket_arn}/{k}", {}, "s3-object") for k in deleted_keys(body)
            ]
        if method == "PUT" and not present:
            return "CreateBucket", [Check("s3:CreateBucket", bucket_arn)]
        if method == "DELETE" and not present:
            return "DeleteBucket", bucket_check("s3:DeleteBucket")
        raise Unmapped("s3", f"{method} bucket?{'&'.join(sorted(present))}", "rest-xml")

    copy_source = headers.get("HTTP_X_AMZ_COPY_SOURCE")
    if method in ("GET", "HEAD"):
        if "uploadId" in present:
            return "ListParts", object_check("s3:ListMultipartUploadParts")
        if "tagging" in present:
            return "GetObjectTagging", object_check("s3:GetObjectTagging")
        if "versionId" in present:
            return "GetObjectVersion", object_check("s3:GetObjectVersion")
        # HeadObject is authorized as s3:GetObject (there is no s3:HeadObject action).
        return ("GetObject" if method == "GET" else "HeadObject"), object_check("s3:GetObject")
    if method == "PUT":
        if "tagging" in present:
            return "PutObjectTagging", object_check("s3:PutObjectTagging")
        checks = object_check("s3:PutObject")
        if copy_source:  # CopyObject / UploadPartCopy also read the source
            source = unquote(copy_source.lstrip("/").split("?versionId=")[0])
            checks.append(Check("s3:GetObject", f"arn:aws:s3:::{source}", {}, "s3-object"))
        if "partNumber" in present and "uploadId" in present:
            return ("UploadPartCopy" if copy_source else "UploadPart"), checks
        if present:
            raise Unmapped("s3", f"PUT object?{'&'.join(sorted(present))}", "rest-xml")
        return ("CopyObject" if copy_source else "PutObject"), checks
    if method == "POST" and "uploads" in present:
        return "CreateMultipartUpload", object_check("s3:PutObject")
    if method == "POST" and "uploadId" in present:
        return "CompleteMultipartUpload", object_check("s3:PutObject")
    if method == "DELETE":
        if "uploadId" in present:
            return "AbortMultipartUpload", object_check("s3:AbortMultipartUpload")
        if "versionId" in present:
            return "DeleteObjectVersion", object_check("s3:DeleteObjectVersion")
        return "DeleteObject", object_check("s3:DeleteObject")
    raise Unmapped("s3", f"{method} object?{'&'.join(sorted(present))}", "rest-xml")


# --------------------------------------------------------------------- JSON and query protocols
Mapper = Callable[[Json, str, str, Lookups], list[Check]]
"""(request parameters, region, account, lookups) -> checks."""


def _glue(action: str, *, table: bool = False, all_tables: bool = False) -> Mapper:
    """Glue Data Catalog: the catalog, the database, and for table operations the table (GetTables: table/db/*)."""

    def checks(p: Json, region: str, account: str, _: Lookups) -> list[Check]:
        prefix = f"arn:aws:glue:{region}:{account}"
        database = p.get("DatabaseName") or p.get("Name") or (p.get("DatabaseInput") or {}).get("Name")
        resources = [f"{prefix}:catalog", f"{prefix}:database/{database}"]
        if table:
            name = p.get("TableName") or p.get("Name") or (p.get("TableInput") or {}).get("Name")
            resources.append(f"{prefix}:table/{database}/{name}")
        if all_tables:
            resources.append(f"{prefix}:table/{database}/*")
        return [Check(action, r) for r in resources]

    return checks


def _glue_job(action: str) -> Mapper:
    return lambda p, region, account, _: [Check(action, f"arn:aws:glue:{region}:{account}:job/{p['JobName']}")]


def _athena(action: str) -> Mapper:
    def checks(p: Json, region: str, account: str, lookups: Lookups) -> list[Check]:
        workgroup = p.get("WorkGroup") or p.get("Name")
        if not workgroup and p.get("QueryExecutionId"):
            workgroup = lookups.query_workgroup(p["QueryExecutionId"])
        return [Check(action, f"arn:aws:athena:{region}:{account}:workgroup/{workgroup or 'primary'}")]

    return checks


def _secret(action: str) -> Mapper:
    def checks(p: Json, region: str, account: str, lookups: Lookups) -> list[Check]:
        secret = p["SecretId"]
        return [Check(action, secret if secret.startswith("arn:") else lookups.secret_arn(secret), kind="secret")]

    return checks


def _kms(action: str) -> Mapper:
    def checks(p: Json, region: str, account: str, _: Lookups) -> list[Check]:
        key = p.get("KeyId", "")
        return [
            Check(
                action, key if key.startswith("arn:") else f"arn:aws:kms:{region}:{account}:key/{key}", kind="kms-key"
            )
        ]

    return checks


def _sqs(action: str) -> Mapper:
    def checks(p: Json, region: str, account: str, _: Lookups) -> list[Check]:
        name = p.get("QueueName") or (p.get("QueueUrl") or "").rstrip("/").rsplit("/", 1)[-1]
        return [Check(action, f"arn:aws:sqs:{region}:{account}:{name}")]

    return checks


def _param(action: str, parameter: str, kind: str | None = None) -> Mapper:
    return lambda p, region, account, _: [Check(action, str(p.get(parameter)), kind=kind)]


def _any_resource(action: str, context: Callable[[Json], Json] | None = None) -> Mapper:
    return lambda p, region, account, _: [Check(action, "*", context(p) if context else {})]


OPERATIONS: dict[str, dict[str, Mapper | None]] = {
    "glue": {
        "GetDatabase": _glue("glue:GetDatabase"),
        "CreateDatabase": _glue("glue:CreateDatabase"),
        "GetDatabases": lambda p, region, account, _: [
            Check("glue:GetDatabases", f"arn:aws:glue:{region}:{account}:catalog"),
            Check("glue:GetDatabases", f"arn:aws:glue:{region}:{account}:database/*"),
        ],
        "GetTable": _glue("glue:GetTable", table=True),
        "GetTables": _glue("glue:GetTables", all_tables=True),
        "CreateTable": _glue("glue:CreateTable", table=True),
        "UpdateTable": _glue("glue:UpdateTable", table=True),
        "DeleteTable": _glue("glue:DeleteTable", table=True),
        "GetPartition": _glue("glue:GetPartition", table=True),
        "GetPartitions": _glue("glue:GetPartitions", table=True),
        "CreatePartition": _glue("glue:CreatePartition", table=True),
        "UpdatePartition": _glue("glue:UpdatePartition", table=True),
        "DeletePartition": _glue("glue:DeletePartition", table=True),
        "BatchCreatePartition": _glue("glue:BatchCreatePartition", table=True),
        "BatchGetPartition": _glue("glue:BatchGetPartition", table=True),
        "BatchDeletePartition": _glue("glue:BatchDeletePartition", table=True),
        "BatchUpdatePartition": _glue("glue:BatchUpdatePartition", table=True),
        "GetJob": _glue_job("glue:GetJob"),
        "StartJobRun": _glue_job("glue:StartJobRun"),
        "GetJobRun": _glue_job("glue:GetJobRun"),
    },
    "athena": {
        op: _athena(f"athena:{op}")
        for op in ("StartQueryExecution", "GetQueryExecution", "GetQueryResults", "StopQueryExecution", "GetWorkGroup")
    },
    "secretsmanager": {
        "GetSecretValue": _secret("secretsmanager:GetSecretValue"),
        "DescribeSecret": _secret("secretsmanager:DescribeSecret"),
    },
    "kms": {op: _kms(f"kms:{op}") for op in ("Decrypt", "Encrypt", "GenerateDataKey", "DescribeKey")},
    "sns": {
        "Publish": lambda p, region, account, _: [
            Check("sns:Publish", str(p.get("TopicArn") or p.get("TargetArn")), kind="sns-topic")
        ]
    },
    "sqs": {
        "SendMessage": _sqs("sqs:SendMessage"),
        "ReceiveMessage": _sqs("sqs:ReceiveMessage"),
        "DeleteMessage": _sqs("sqs:DeleteMessage"),
        "GetQueueUrl": _sqs("sqs:GetQueueUrl"),
    },
    "states": {
        "StartExecution": _param("states:StartExecution", "stateMachineArn"),
        "DescribeExecution": _param("states:DescribeExecution", "executionArn"),
        "GetExecutionHistory": _param("states:GetExecutionHistory", "executionArn"),  # write_audit: the timeline
    },
    "monitoring": {
        "PutMetricData": _any_resource(
            "cloudwatch:PutMetricData", lambda p: {"cloudwatch:namespace": p.get("Namespace")}
        )
    },
    "sts": {"GetCallerIdentity": None},  # needs no permission
}


def _json_or_query(
    service: str, environ: Json, body: bytes, region: str, account: str, lookups: Lookups
) -> tuple[str, str, list[Check]]:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        protocol, operation = "json", target.rsplit(".", 1)[-1]
        params = json.loads(body or b"{}")
    else:
        protocol = "query"
        form = parse_qs(body.decode() if body else environ.get("QUERY_STRING", ""))
        params = {k: v[0] for k, v in form.items()}
        operation = params.get("Action", "")
    table = OPERATIONS.get(service, {})
    if operation not in table:
        raise Unmapped(IAM_PREFIX.get(service, service), operation, protocol)
    mapper = table[operation]
    return protocol, operation, [] if mapper is None else mapper(params, region, account, lookups)


def map_request(environ: Json, body: bytes, account: str, lookups: Lookups) -> Request:
    access_key, region, service = credential_scope(environ)
    region = region or "us-east-1"
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    token = environ.get("HTTP_X_AMZ_SECURITY_TOKEN") or query.get("X-Amz-Security-Token", [None])[0]
    if service == "s3":
        host = environ.get("HTTP_HOST", "").split(":")[0]
        if host not in ("127.0.0.1", "localhost"):
            # Virtual-hosted addressing would put the bucket in the host: every local client uses path-style.
            raise Unmapped("s3", f"virtual-hosted request to {host}", "rest-xml")
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        path = raw.split("?", 1)[0]
        operation, checks = s3_checks(environ["REQUEST_METHOD"], path, query, environ, body)
        return Request("s3", "rest-xml", operation, checks, access_key, token, region)
    protocol, operation, checks = _json_or_query(service or "", environ, body, region, account, lookups)
    return Request(service or "", protocol, operation, checks, access_key, token, region)
