"""Ingestion: one Lambda per source kind used in pipeline.yaml, each allowed to touch only its own datasets."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Duration, Size, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from dataplatform.config import SOURCE_KINDS, PipelineConfig, SourceKind
from dataplatform.config.sources import CsvSource
from dataplatform.naming import function_name
from infra.functions import lambda_environment, python_function
from infra.nag import PREFIX_REASON, acknowledge
from infra.storage import Storage

VPC_CONTEXT = "postgres_vpc_id"
"""cdk.json context value naming the VPC for ingest Lambdas whose datasets set `vpc: true`."""


def secret_arn(scope: Construct, name: str) -> str:
    """ARN pattern of a Secrets Manager secret by name (Secrets Manager appends a 6-character suffix)."""
    return Stack.of(scope).format_arn(
        service="secretsmanager",
        resource="secret",
        resource_name=f"{name}-??????",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


class Ingestion(Construct):
    """`<project>-ingest-<kind>` functions from `lambdas/ingest_<kind>/` (handler `handler.handler`), one per
    registered source kind (`dataplatform.config.SOURCE_KINDS`) that pipeline.yaml uses; `functions` is keyed
    by kind.

    Each function may write only the raw and run-record prefixes of the datasets of its kind (`Lake.raw_prefix`,
    `Lake.any_run_prefix`), read their state objects, and read what those datasets' sources say they read
    (`Source.access()`: a landing prefix, an external S3 prefix, secrets). A dataset with `vpc: true` puts its
    kind's function into the VPC given by the cdk.json context value `postgres_vpc_id` (looked up at synth time;
    commit the resulting cdk.context.json).
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
        self.functions: dict[str, lambda_.Function] = {}
        for kind in SOURCE_KINDS.values():
            datasets = config.datasets_of_kind(kind.name)
            if datasets:
                self.functions[kind.name] = self._function(kind, datasets, root, config_file)

    @property
    def functions_by_folder(self) -> dict[str, lambda_.Function]:
        """The functions keyed by their Lambda folder (`ingest_<kind>`)."""
        return {SOURCE_KINDS[kind].lambda_folder: function for kind, function in self.functions.items()}

    def _function(self, kind: SourceKind, datasets: list[str], root: Path, config_file: Path) -> lambda_.Function:
        name = function_name(self.config.project, kind.lambda_folder)
        lake = self.storage.lake
        function, role = python_function(
            self,
            f"Ingest{kind.name.capitalize()}",
            folder=kind.lambda_folder,
            function_name=name,
            description=f"Ingest {kind.name} sources into the raw zone: {', '.join(datasets)}",
            role_description=f"{name}: {lake.raw_prefix()} and {lake.runs_prefix()} of {', '.join(datasets)} only",
            root=root,
            config_file=config_file,
            environment=lambda_environment(self.config, self.storage, kind.lambda_folder),
            key=self.storage.key,
            memory_mb=kind.memory_mb,
            timeout=Duration.minutes(15),
            ephemeral_storage_size=Size.mebibytes(kind.ephemeral_storage_mb),
            **self._vpc_options(kind, datasets),
        )
        self._grant(role, datasets)
        return function

    def _vpc_options(self, kind: SourceKind, datasets: list[str]) -> dict[str, object]:
        in_vpc = [d for d in datasets if self.config.datasets[d].source.access().vpc]
        if not in_vpc:
            return {}
        vpc_id = self.node.try_get_context(VPC_CONTEXT)
        if not vpc_id:
            raise ValueError(
                f"datasets {', '.join(in_vpc)} set 'vpc: true' but cdk.json has no context value "
                f"'{VPC_CONTEXT}'; add the VPC id there (or pass -c {VPC_CONTEXT}=vpc-...)"
            )
        title = kind.name.capitalize()
        vpc = ec2.Vpc.from_lookup(self, f"{title}Vpc", vpc_id=vpc_id)
        security_group = ec2.SecurityGroup(
            self,
            f"Ingest{title}SecurityGroup",
            vpc=vpc,
            description=f"{title} ingestion Lambda: outbound only ({title}, Secrets Manager, S3)",
            allow_all_outbound=True,
        )
        return {
            "vpc": vpc,
            "vpc_subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            "security_groups": [security_group],
        }

    def _grant(self, role: iam.Role, datasets: list[str]) -> None:
        storage, lake = self.storage, self.storage.lake
        # delete: a run clears what a failed attempt of the same run_id left, and undoes a failed call's parts.
        storage.grant_prefixes(
            role, storage.raw_bucket, [lake.raw_prefix(d) for d in datasets], write=True, delete=True
        )
        storage.grant_prefixes(role, storage.curated_bucket, [lake.any_run_prefix(d) for d in datasets], write=True)
        # Ingestion reads the committed watermark and the CSV landing markers; only commit_state writes them.
        storage.grant_prefixes(
            role, storage.curated_bucket, [p for d in datasets for p in (lake.state_key(d), lake.processed_prefix(d))]
        )

        accesses = [self.config.datasets[d].source.access() for d in datasets]
        landing = list(dict.fromkeys(a.landing_prefix for a in accesses if a.landing_prefix))
        if landing:
            # A landing file that fails its checks is moved to rejected/<dataset>/ (copy, then delete).
            storage.grant_prefixes(role, storage.raw_bucket, landing, delete=True)
        csv_datasets = [d for d in datasets if isinstance(self.config.datasets[d].source, CsvSource)]
        if csv_datasets:
            storage.grant_prefixes(role, storage.raw_bucket, [lake.rejected_root(d) for d in csv_datasets], write=True)
        for bucket, prefix in dict.fromkeys(a.external_s3 for a in accesses if a.external_s3):
            self._grant_external_read(role, bucket, prefix)
        secrets = sorted({name for a in accesses for name in a.secrets})
        if secrets:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["secretsmanager:GetSecretValue"],  # the reader never describes (docs/permissions.md)
                    resources=[secret_arn(self, s) for s in secrets],
                )
            )

    def _grant_external_read(self, role: iam.Role, bucket: str, prefix: str) -> None:
        """Read-only access to a prefix of a bucket outside the lake (a CSV location `s3://bucket/prefix/`)."""
        external = f"arn:{Stack.of(self).partition}:s3:::{bucket}"
        role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[f"{external}/{prefix}*"]))
        acknowledge(role, f"AwsSolutions-IAM5[Resource::{external}/{prefix}*]", PREFIX_REASON)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[external],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
            )
        )
