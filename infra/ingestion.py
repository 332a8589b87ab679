"""Ingestion: one Lambda per source kind used in pipeline.yaml, each allowed to touch only its own datasets."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Duration, Size, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from dataplatform.config.models import CsvSource, PipelineConfig, PostgresSource, RestSource
from infra.functions import python_function
from infra.nag import PREFIX_REASON, acknowledge
from infra.storage import Storage

SOURCE_KINDS = ("csv", "rest", "postgres")
DEFAULT_MEMORY_MB = {"csv": 512, "rest": 512, "postgres": 1024}
EPHEMERAL_MB = {"postgres": 2048}
POSTGRES_VPC_CONTEXT = "postgres_vpc_id"


def lambda_environment(config: PipelineConfig, storage: Storage, service: str) -> dict[str, str]:
    """The environment every pipeline Lambda gets (docs/contracts.md)."""
    return {
        "RAW_BUCKET": storage.raw_bucket.bucket_name,
        "CURATED_BUCKET": storage.curated_bucket.bucket_name,
        # Bundled beside the handler by infra.bundling; /var/task is the Lambda code root.
        "PIPELINE_CONFIG": "/var/task/pipeline.yaml",
        "POWERTOOLS_SERVICE_NAME": service,
        "POWERTOOLS_METRICS_NAMESPACE": config.project,
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


def secret_arn(scope: Construct, name: str) -> str:
    """ARN pattern of a Secrets Manager secret by name (Secrets Manager appends a 6-character suffix)."""
    return Stack.of(scope).format_arn(
        service="secretsmanager",
        resource="secret",
        resource_name=f"{name}-??????",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def _secrets_of(config: PipelineConfig, datasets: list[str]) -> list[str]:
    names: set[str] = set()
    for name in datasets:
        source = config.datasets[name].source
        if isinstance(source, RestSource) and source.auth.secret:
            names.add(source.auth.secret)
        if isinstance(source, PostgresSource):
            names.add(source.connection_secret)
    return sorted(names)


class Ingestion(Construct):
    """`<project>-ingest-<kind>` functions from `lambdas/ingest_<kind>/` (handler `handler.handler`).

    Each function may write only `raw/<dataset>/` and `runs/*/<dataset>/` of the datasets of its kind, read their
    state objects, read the CSV landing prefixes of its datasets and read only the secrets those datasets name.
    A Postgres dataset with `vpc: true` puts the Postgres function into the VPC given by the cdk.json context
    value `postgres_vpc_id` (looked up at synth time; commit the resulting cdk.context.json).
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
        memory_mb: dict[str, int] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.storage = storage
        memory = {**DEFAULT_MEMORY_MB, **(memory_mb or {})}
        self.functions: dict[str, lambda_.Function] = {}
        for kind in SOURCE_KINDS:
            datasets = config.datasets_of_kind(kind)
            if datasets:
                self.functions[kind] = self._function(kind, datasets, root, config_file, memory[kind])

    def function_for(self, dataset: str) -> lambda_.Function:
        return self.functions[self.config.datasets[dataset].source.kind]

    def _function(
        self, kind: str, datasets: list[str], root: Path, config_file: Path, memory_mb: int
    ) -> lambda_.Function:
        name = f"ingest_{kind}"
        function_name = f"{self.config.project}-ingest-{kind}"
        construct_id = f"Ingest{kind.capitalize()}"
        function, role = python_function(
            self,
            construct_id,
            folder=name,
            function_name=function_name,
            description=f"Ingest {kind} sources into the raw zone: {', '.join(datasets)}",
            role_description=f"{function_name}: raw/ and runs/ of {', '.join(datasets)} only",
            root=root,
            config_file=config_file,
            environment=lambda_environment(self.config, self.storage, name),
            memory_mb=memory_mb,
            timeout=Duration.minutes(15),
            # Postgres parts are staged in /tmp before upload (bounded by part_max_rows); give them room.
            ephemeral_storage_size=Size.mebibytes(EPHEMERAL_MB.get(kind, 512)),
            **self._vpc_options(kind, datasets),
        )
        self._grant(role, datasets)
        return function

    def _vpc_options(self, kind: str, datasets: list[str]) -> dict[str, object]:
        if kind != "postgres":
            return {}
        in_vpc = [d for d in datasets if getattr(self.config.datasets[d].source, "vpc", False)]
        if not in_vpc:
            return {}
        vpc_id = self.node.try_get_context(POSTGRES_VPC_CONTEXT)
        if not vpc_id:
            raise ValueError(
                f"datasets {', '.join(in_vpc)} set 'vpc: true' but cdk.json has no context value "
                f"'{POSTGRES_VPC_CONTEXT}'; add the VPC id there (or pass -c {POSTGRES_VPC_CONTEXT}=vpc-...)"
            )
        vpc = ec2.Vpc.from_lookup(self, "PostgresVpc", vpc_id=vpc_id)
        security_group = ec2.SecurityGroup(
            self,
            "IngestPostgresSecurityGroup",
            vpc=vpc,
            description="Postgres ingestion Lambda: outbound only (Postgres, Secrets Manager, S3)",
            allow_all_outbound=True,
        )
        return {
            "vpc": vpc,
            "vpc_subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            "security_groups": [security_group],
        }

    def _grant(self, role: iam.Role, datasets: list[str]) -> None:
        storage = self.storage
        storage.grant_prefixes(role, storage.raw_bucket, [f"raw/{d}/" for d in datasets], write=True)
        storage.grant_prefixes(role, storage.curated_bucket, [f"runs/*/{d}/" for d in datasets], write=True)
        # Ingestion reads the committed watermark and the CSV landing markers (state/<dataset>/processed/...);
        # only commit_state writes them.
        storage.grant_prefixes(
            role, storage.curated_bucket, [p for d in datasets for p in (f"state/{d}.json", f"state/{d}/")]
        )

        landing: list[str] = []
        for d in datasets:
            source = self.config.datasets[d].source
            if not isinstance(source, CsvSource):
                continue
            if source.location.startswith("landing/"):
                landing.append(source.location if source.location.endswith("/") else f"{source.location}/")
            elif source.location.startswith("s3://"):
                bucket, _, prefix = source.location.removeprefix("s3://").partition("/")
                external = f"arn:{Stack.of(self).partition}:s3:::{bucket}"
                role.add_to_principal_policy(
                    iam.PolicyStatement(actions=["s3:GetObject"], resources=[f"{external}/{prefix}*"])
                )
                acknowledge(role, f"AwsSolutions-IAM5[Resource::{external}/{prefix}*]", PREFIX_REASON)
                role.add_to_principal_policy(
                    iam.PolicyStatement(
                        actions=["s3:ListBucket"],
                        resources=[external],
                        conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
                    )
                )
        if landing:
            # A landing file that fails its checks is moved to rejected/<dataset>/ (copy, then delete).
            storage.grant_prefixes(role, storage.raw_bucket, landing, delete=True)
        csv_datasets = [d for d in datasets if isinstance(self.config.datasets[d].source, CsvSource)]
        if csv_datasets:
            storage.grant_prefixes(role, storage.raw_bucket, [f"rejected/{d}/" for d in csv_datasets], write=True)

        secrets = _secrets_of(self.config, datasets)
        if secrets:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                    resources=[secret_arn(self, s) for s in secrets],
                )
            )
