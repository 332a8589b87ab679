"""Standardization: one Glue 5.1 PySpark job per dataset, raw -> curated, each with its own least-privilege role."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from dataplatform.config.models import PipelineConfig
from dataplatform.naming import security_configuration_name, standardize_job_name
from infra.bundling import dataplatform_zip, require_path
from infra.nag import ASSET_REASON, GLUE_LOGS_REASON, GLUE_METRICS_REASON, acknowledge, asset_bucket_findings
from infra.storage import Storage, allow_log_groups_to_use_key

SCRIPT = Path("glue_jobs") / "standardize_job.py"
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


class Standardization(Construct):
    """One Glue job per dataset (`dataplatform.naming.standardize_job_name`) running glue_jobs/standardize_job.py
    (docs/contracts.md, Glue job).

    `--run_id` and `--manifest_uris` are passed per run by the workflow; everything else is a default argument.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        storage: Storage,
        root: Path,
        config_file: Path,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.storage = storage
        script_path = require_path(root / SCRIPT, "Glue standardization script")
        script = glue.Code.from_asset(str(script_path))
        package = glue.Code.from_asset(str(dataplatform_zip(root, script_path)))
        self.config_asset = s3_assets.Asset(self, "PipelineConfig", path=str(config_file))

        key = storage.key
        # Glue writes continuous logs to /aws-glue/* groups encrypted with the lake key: let CloudWatch Logs use it.
        allow_log_groups_to_use_key(key, "/aws-glue/*")
        self.security_configuration = glue.SecurityConfiguration(
            self,
            "SecurityConfiguration",
            security_configuration_name=security_configuration_name(config.project),
            s3_encryption=glue.S3Encryption.kms(key),
            cloud_watch_encryption=glue.CloudWatchEncryption.kms(key),
            job_bookmarks_encryption=glue.JobBookmarksEncryption.client_side_kms(key),
        )

        self.jobs: dict[str, glue.PySparkEtlJob] = {}
        for dataset in config.datasets:
            self.jobs[dataset] = self._job(dataset, script, package)

    def job_name(self, dataset: str) -> str:
        return standardize_job_name(self.config.project, dataset)

    def _job(self, dataset: str, script: glue.Code, package: glue.Code) -> glue.PySparkEtlJob:
        storage, lake, sizing = self.storage, self.storage.lake, self.config.glue
        construct_id = "".join(p.capitalize() for p in dataset.split("_"))
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
            description=f"{self.job_name(dataset)}: reads {lake.raw_prefix(dataset)}, "
            f"writes {lake.curated_prefix(dataset)} only",
        )
        default_arguments = {
            "--dataset": dataset,
            "--curated_root": lake.curated_uri(),
            "--quarantine_root": lake.quarantine_uri(),
            "--config_uri": self.config_asset.s3_object_url,
            "--raw_bucket": lake.raw_bucket,
            "--curated_bucket": lake.curated_bucket,
            "--curated_database": storage.curated_database,
            "--additional-python-modules": GLUE_PYTHON_MODULES,
            "--enable-auto-scaling": str(sizing.auto_scaling).lower(),
            # The pipeline keeps its own watermarks (state/); Glue bookmarks would skip re-runs of a run_id.
            "--job-bookmark-option": "job-bookmark-disable",
        }
        job = glue.PySparkEtlJob(
            self,
            construct_id,
            job_name=self.job_name(dataset),
            description=f"Standardize {dataset}: raw -> curated Parquet, contract-driven, with quarantine",
            role=role,
            script=script,
            extra_python_files=[package],
            glue_version=glue.GlueVersion.V5_1,
            worker_configuration=glue.WorkerConfiguration(
                worker_type=WORKER_TYPES[sizing.worker_type], number_of_workers=sizing.number_of_workers
            ),
            timeout=Duration.minutes(sizing.timeout_minutes),
            # Step Functions retries the task; one run at a time because the partition merge rewrites partitions.
            max_retries=0,
            max_concurrent_runs=1,
            security_configuration=self.security_configuration,
            continuous_logging=glue.ContinuousLoggingProps(enabled=True, quiet=True),
            enable_metrics=True,
            enable_observability_metrics=True,
            default_arguments=default_arguments,
        )
        self.config_asset.grant_read(role)
        self._grant(role, dataset)
        return job

    def _grant(self, role: iam.Role, dataset: str) -> None:
        storage, lake, stack = self.storage, self.storage.lake, Stack.of(self)
        storage.grant_prefixes(role, storage.raw_bucket, [lake.raw_prefix(dataset)])
        storage.grant_prefixes(
            role,
            storage.curated_bucket,
            [
                lake.curated_prefix(dataset),
                lake.staging_prefix(dataset),
                lake.quarantine_prefix(dataset),
                lake.any_run_prefix(dataset),
            ],
            write=True,
            delete=True,  # the partition-level merge replaces the files of the partitions a run touches
        )
        dependencies = list(self.config.datasets[dataset].depends_on)
        if dependencies:
            storage.grant_prefixes(role, storage.curated_bucket, [lake.curated_prefix(d) for d in dependencies])

        database = storage.curated_database
        catalog_arn = stack.format_arn(service="glue", resource="catalog")
        database_arn = stack.format_arn(service="glue", resource="database", resource_name=database)

        def table_arn(name: str) -> str:
            return stack.format_arn(service="glue", resource="table", resource_name=f"{database}/{name}")

        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="OwnCatalogTable",
                # What dataplatform.catalog.update_catalog calls; no other partition API is used (docs/permissions.md).
                actions=[
                    "glue:GetDatabase",
                    "glue:GetTable",
                    "glue:CreateTable",
                    "glue:UpdateTable",
                    "glue:BatchCreatePartition",
                ],
                # The job keeps two tables: the curated one and `<dataset>_quarantine` (rejected rows by run_id).
                resources=[catalog_arn, database_arn, table_arn(dataset), table_arn(f"{dataset}_quarantine")],
            )
        )
        if dependencies:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="ReadDependencyTables",
                    actions=["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"],
                    resources=[catalog_arn, database_arn, *(table_arn(d) for d in dependencies)],
                )
            )
        log_groups = stack.format_arn(
            service="logs", resource="log-group", resource_name="/aws-glue/*", arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="GlueJobLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:AssociateKmsKey",
                ],
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
