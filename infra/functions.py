"""One Python Lambda function the way every construct here deploys it: own role, own log group, X-Ray, bundled code,
and the environment every pipeline function gets (docs/contracts.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from dataplatform.config.models import PipelineConfig
from infra.bundling import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME, lambda_code
from infra.nag import LAMBDA_CHECKOV_FINDINGS, LAMBDA_RUNTIME_REASON, XRAY_REASON, accept_checkov, acknowledge
from infra.storage import Storage

LOG_RETENTION = logs.RetentionDays.ONE_MONTH


def lambda_environment(config: PipelineConfig, storage: Storage, folder: str) -> dict[str, str]:
    """The environment of the function from `lambdas/<folder>/` (docs/contracts.md)."""
    return {
        "RAW_BUCKET": storage.raw_bucket.bucket_name,
        "CURATED_BUCKET": storage.curated_bucket.bucket_name,
        # Bundled beside the handler by infra.bundling; /var/task is the Lambda code root.
        "PIPELINE_CONFIG": "/var/task/pipeline.yaml",
        "POWERTOOLS_SERVICE_NAME": folder,
        "POWERTOOLS_METRICS_NAMESPACE": config.project,
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


def python_function(
    scope: Construct,
    construct_id: str,
    *,
    folder: str,
    function_name: str,
    description: str,
    role_description: str,
    root: Path,
    config_file: Path,
    environment: dict[str, str],
    memory_mb: int,
    timeout: Duration,
    key: kms.IKey,
    checkov_findings: dict[str, str] = LAMBDA_CHECKOV_FINDINGS,
    bundled_folders: tuple[tuple[Path, str], ...] = (),
    **function_options: Any,
) -> tuple[lambda_.Function, iam.Role]:
    """`lambdas/<folder>/handler.handler` with a role of its own that callers grant least privilege to.

    Retries belong to the state machine (with continuation cursors), so async invoke retries are off. The lake
    key encrypts its log group and its environment (Storage lets CloudWatch Logs use it for /aws/lambda/<project>-*).
    """
    role = iam.Role(
        scope,
        f"{construct_id}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=role_description,
    )
    log_group = logs.LogGroup(
        scope,
        f"{construct_id}Logs",
        log_group_name=f"/aws/lambda/{function_name}",
        retention=LOG_RETENTION,
        encryption_key=key,
    )
    log_group.grant_write(role)
    function = lambda_.Function(
        scope,
        construct_id,
        function_name=function_name,
        description=description,
        code=lambda_code(root, folder, config_file, bundled_folders),
        handler="handler.handler",
        runtime=LAMBDA_RUNTIME,
        architecture=LAMBDA_ARCHITECTURE,
        memory_size=memory_mb,
        timeout=timeout,
        role=role,
        log_group=log_group,
        tracing=lambda_.Tracing.ACTIVE,
        environment=environment,
        environment_encryption=key,
        retry_attempts=0,
        **function_options,
    )
    acknowledge(function, "AwsSolutions-L1", LAMBDA_RUNTIME_REASON)
    accept_checkov(function, checkov_findings)
    acknowledge(role, "AwsSolutions-IAM5[Resource::*]", XRAY_REASON)
    return function, role
