"""Security scanners' findings: cdk-nag (AwsSolutions, at every synth) and checkov (on the template, in `make synth`),
each acknowledged finding with its reason on the resource it concerns (docs/checkov.md lists checkov's).

Findings are acknowledged where the permission is granted, on the narrowest construct, and by exact finding id
(cdk-nag ids carry the wildcard resource or action, e.g. `AwsSolutions-IAM5[Resource::<RawBucket.Arn>/raw/x/*]`),
so a new wildcard elsewhere still fails the synth.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, CfnResource, DefaultStackSynthesizer, Stack, Validations
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

PACK = "AwsSolutions"

PREFIX_REASON = (
    "Object-level access limited to one dataset's own prefix in the lake; S3 needs the trailing '*' to address "
    "the objects under a prefix, and listing is restricted to the same prefix by an s3:prefix condition."
)
ASSET_REASON = (
    "Read-only access to this job's CDK assets (script, dataplatform zip, pipeline.yaml) in the CDK bootstrap "
    "bucket, granted by aws-cdk-lib's asset grant; object keys are content hashes known only at synth."
)
XRAY_REASON = (
    "X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level "
    "permissions, so AWS requires Resource '*' (https://docs.aws.amazon.com/xray/latest/devguide/security_iam_id-based-policy-examples.html)."
)
GLUE_METRICS_REASON = (
    "cloudwatch:PutMetricData supports no resource-level permissions; the statement is limited to the 'Glue' "
    "namespace by a cloudwatch:namespace condition."
)
GLUE_LOGS_REASON = (
    "Glue names its continuous-logging groups and streams at run time under /aws-glue/ (suffixes per security "
    "configuration and job run id), so the role is limited to that path rather than to fixed names."
)
STATE_MACHINE_REASON = (
    "X-Ray tracing and CloudWatch Logs vended delivery (logs:CreateLogDelivery and friends) support no "
    "resource-level permissions, so AWS requires Resource '*'."
)
LAMBDA_RUNTIME_REASON = (
    "Pinned to python3.12 on purpose: the bundled wheels (pyarrow, ADBC, pydantic-core) are selected for "
    "CPython 3.12 manylinux2014_x86_64 by infra/bundling.py; moving runtimes is a deliberate, tested change."
)


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one exact AwsSolutions finding (e.g. `AwsSolutions-L1`) on `scope` and its children."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{PACK}::{finding}", reason=reason))


def bucket_object_finding(bucket: s3.IBucket, pattern: str) -> str:
    """The IAM5 finding id cdk-nag reports for `<bucket arn>/<pattern>`."""
    stack = Stack.of(bucket)
    default_child = bucket.node.default_child
    if not isinstance(default_child, CfnResource):
        raise TypeError(f"{bucket.node.path} is not a bucket defined in this app")
    logical_id = stack.resolve(stack.get_logical_id(default_child))
    return f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/{pattern}]"


def asset_bucket_findings(scope: IConstruct) -> list[str]:
    """IAM5 findings of aws-cdk-lib's asset read grant (GetObject*, GetBucket*, List* on the assets bucket)."""
    stack = Stack.of(scope)
    qualifier = stack.synthesizer.bootstrap_qualifier or DefaultStackSynthesizer.DEFAULT_QUALIFIER
    assets = (
        DefaultStackSynthesizer.DEFAULT_FILE_ASSETS_BUCKET_NAME.replace("${Qualifier}", qualifier)
        .replace("${AWS::AccountId}", stack.account)
        .replace("${AWS::Region}", stack.region)
    )
    return [
        f"AwsSolutions-IAM5[Resource::arn:{stack.partition}:s3:::{assets}/*]",
        "AwsSolutions-IAM5[Action::s3:GetObject*]",
        "AwsSolutions-IAM5[Action::s3:GetBucket*]",
        "AwsSolutions-IAM5[Action::s3:List*]",
    ]


def acknowledge_athena_task_arns(role: IConstruct) -> None:
    """The Glue ARNs aws-cdk-lib's Athena task grant derives from a JSONPath database (`$.database`)."""
    stack = Stack.of(role)
    for kind in ("table", "userDefinedFunction"):
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::arn:{stack.partition}:glue:{stack.region}:{stack.account}:{kind}/"
            "$.database/*]",
            "aws-cdk-lib derives this ARN from the QueryExecutionContext JSONPath ($.database); it matches no "
            "real database. The effective Glue grants are the explicit per-database or per-table statements.",
        )


def apply_nag(app: App, stack: Stack) -> None:
    """Run AwsSolutions on every stack at synth; unacknowledged findings fail the synth."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))


# checkov reads `Metadata.checkov.skip` of a CloudFormation resource: [{id, comment}].
LAMBDA_CHECKOV_FINDINGS = {
    "CKV_AWS_115": "No reserved concurrency: the state machine bounds it (one invocation per dataset and chunk, Map "
    "concurrency), and reserving it would take from the account's unreserved pool (new accounts have 10).",
    "CKV_AWS_116": "Invoked synchronously by Step Functions only, where a failure goes to the state machine's "
    "Retry/Catch, the SNS alert and the FAILED audit record; a Lambda DLQ applies to asynchronous invokes only.",
    "CKV_AWS_117": "Not in a VPC by default: the functions reach S3, Secrets Manager and public source APIs. A "
    "Postgres source that needs a private network sets `vpc: true`, which places that function in the VPC given "
    "by the postgres_vpc_id context.",
}
ACCESS_LOG_BUCKET_FINDING = {
    "CKV_AWS_18": "This is the access-log bucket itself: S3 server access logs of the other buckets are delivered "
    "here; logging it into itself would log every log delivery.",
}


API_CHECKOV_FINDINGS = {
    "CKV_AWS_115": "No reserved concurrency: the API stage's throttling (api.throttling in pipeline.yaml) bounds "
    "the invocations, and reserving concurrency would take from the account's unreserved pool.",
    "CKV_AWS_116": "Invoked synchronously by API Gateway only: a failure is answered to the caller as an error "
    "response; a Lambda DLQ applies to asynchronous invokes only.",
    "CKV_AWS_117": "Not in a VPC: the API function reaches Athena, Glue and S3 through their public endpoints and "
    "reads nothing on a private network.",
}
HEALTH_ROUTE_CHECKOV_FINDING = {
    "CKV_AWS_309": "GET /health is the one route without authorization on purpose: a liveness probe that reads "
    "nothing and answers only the project name; every other route has the IAM or JWT authorizer.",
}


def accept_checkov(construct: IConstruct, findings: dict[str, str]) -> None:
    """Record checkov findings accepted for this construct's CloudFormation resource, with their reasons."""
    resource = construct.node.default_child if not isinstance(construct, CfnResource) else construct
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to annotate")
    skips = [{"id": check, "comment": reason} for check, reason in sorted(findings.items())]
    existing = (resource.get_metadata("checkov") or {}).get("skip", [])
    resource.add_metadata("checkov", {"skip": [*existing, *skips]})
