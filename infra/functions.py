"""One Python Lambda function the way every construct here deploys it: own role, own log group, X-Ray, bundled code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.bundling import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME, lambda_code
from infra.nag import LAMBDA_RUNTIME_REASON, XRAY_REASON, acknowledge

LOG_RETENTION = logs.RetentionDays.ONE_MONTH


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
    **function_options: Any,
) -> tuple[lambda_.Function, iam.Role]:
    """`lambdas/<folder>/handler.handler` with a role of its own that callers grant least privilege to.

    Retries belong to the state machine (with continuation cursors), so async invoke retries are off.
    """
    role = iam.Role(
        scope,
        f"{construct_id}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=role_description,
    )
    log_group = logs.LogGroup(
        scope, f"{construct_id}Logs", log_group_name=f"/aws/lambda/{function_name}", retention=LOG_RETENTION
    )
    log_group.grant_write(role)
    function = lambda_.Function(
        scope,
        construct_id,
        function_name=function_name,
        description=description,
        code=lambda_code(root, folder, config_file),
        handler="handler.handler",
        runtime=LAMBDA_RUNTIME,
        architecture=LAMBDA_ARCHITECTURE,
        memory_size=memory_mb,
        timeout=timeout,
        role=role,
        log_group=log_group,
        tracing=lambda_.Tracing.ACTIVE,
        environment=environment,
        retry_attempts=0,
        **function_options,
    )
    acknowledge(function, "AwsSolutions-L1", LAMBDA_RUNTIME_REASON)
    acknowledge(role, "AwsSolutions-IAM5[Resource::*]", XRAY_REASON)
    return function, role
