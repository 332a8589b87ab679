"""What every Glue job of the platform shares: Glue 5.1 with Iceberg (one place: dataplatform/transform/iceberg.py),
the dataplatform zip, the KMS security configuration, and the logs/metrics grants of its role."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from constructs import Construct

from dataplatform.config.models import GlueSizing
from dataplatform.transform.iceberg import glue_job_arguments
from infra.nag import ASSET_REASON, GLUE_LOGS_REASON, GLUE_METRICS_REASON, acknowledge, asset_bucket_findings

WORKER_TYPES = {
    "G.025X": glue.WorkerType.G_025X,
    "G.1X": glue.WorkerType.G_1X,
    "G.2X": glue.WorkerType.G_2X,
    "G.4X": glue.WorkerType.G_4X,
    "G.8X": glue.WorkerType.G_8X,
}
# Glue 5.1 ships neither pydantic nor pydantic-settings, which the dataplatform package needs for its config
# models; Glue pip-installs these at job start. Keep in step with requirements.txt.
GLUE_PYTHON_MODULES = "pydantic==2.14.3,pydantic-settings==2.16.3,PyYAML==6.0.3"


def iceberg_job(
    scope: Construct,
    construct_id: str,
    *,
    job_name: str,
    description: str,
    role: iam.IRole,
    script: glue.Code,
    package: glue.Code,
    arguments: dict[str, str],
    warehouse: str,
    sizing: GlueSizing,
    security_configuration: glue.ISecurityConfiguration,
) -> glue.PySparkEtlJob:
    """A Glue 5.1 PySpark job with the Iceberg runtime and the Glue Data Catalog as its Iceberg catalog.

    One run at a time, no Glue-level retries (Step Functions retries the task), no job bookmarks (the pipeline keeps
    its own watermarks; bookmarks would skip re-runs of a run_id).
    """
    default_arguments = {
        **arguments,
        **glue_job_arguments(warehouse),
        "--additional-python-modules": GLUE_PYTHON_MODULES,
        "--enable-auto-scaling": str(sizing.auto_scaling).lower(),
        "--job-bookmark-option": "job-bookmark-disable",
    }
    return glue.PySparkEtlJob(
        scope,
        construct_id,
        job_name=job_name,
        description=description,
        role=role,
        script=script,
        extra_python_files=[package],
        glue_version=glue.GlueVersion.V5_1,
        worker_configuration=glue.WorkerConfiguration(
            worker_type=WORKER_TYPES[sizing.worker_type], number_of_workers=sizing.number_of_workers
        ),
        timeout=Duration.minutes(sizing.timeout_minutes),
        max_retries=0,
        max_concurrent_runs=1,
        security_configuration=security_configuration,
        continuous_logging=glue.ContinuousLoggingProps(enabled=True, quiet=True),
        enable_metrics=True,
        enable_observability_metrics=True,
        default_arguments=default_arguments,
    )


def grant_job_logs_and_metrics(role: iam.Role) -> None:
    """Continuous logs under /aws-glue/ and metrics in the Glue namespace, with cdk-nag's findings explained."""
    stack = Stack.of(role)
    log_groups = stack.format_arn(
        service="logs", resource="log-group", resource_name="/aws-glue/*", arn_format=ArnFormat.COLON_RESOURCE_NAME
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="GlueJobLogs",
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"],
            resources=[log_groups, f"{log_groups}:*"],
        )
    )
    for resource in (log_groups, f"{log_groups}:*"):
        acknowledge(role, f"AwsSolutions-IAM5[Resource::{stack.resolve(resource)}]", GLUE_LOGS_REASON)
    acknowledge(role, "AwsSolutions-IAM5[Resource::*]", GLUE_METRICS_REASON)
    for finding in asset_bucket_findings(role):
        acknowledge(role, finding, ASSET_REASON)
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="GlueJobMetrics",
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": "Glue"}},
        )
    )


def catalog_arns(scope: Construct, database: str, tables: list[str]) -> list[str]:
    """The catalog, the database and the given tables of it (what a Glue Data Catalog grant names)."""
    stack = Stack.of(scope)
    return [
        stack.format_arn(service="glue", resource="catalog"),
        stack.format_arn(service="glue", resource="database", resource_name=database),
        *(stack.format_arn(service="glue", resource="table", resource_name=f"{database}/{t}") for t in tables),
    ]
