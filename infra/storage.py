"""Storage: the KMS key, the lake buckets, the Glue databases and the Athena workgroup."""

from __future__ import annotations

from aws_cdk import ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from dataplatform.config.models import PipelineConfig
from dataplatform.layout import LANDING_ROOT, Lake, LakeKeys
from dataplatform.naming import database_names, workgroup_name
from infra.nag import ACCESS_LOG_BUCKET_FINDING, PREFIX_REASON, accept_checkov, acknowledge, bucket_object_finding
from infra.workflow.tasks import AthenaTarget

# Athena cancels any query that scans more than this; a runaway mart query then costs cents, not dollars.
DEFAULT_BYTES_SCANNED_CUTOFF = 10 * 1024**3
NONCURRENT_VERSION_DAYS = 30
ACCESS_LOG_RETENTION_DAYS = 365
ATHENA_RESULT_RETENTION_DAYS = 30


class Storage(Construct):
    """One KMS key; raw, curated, athena-results and access-log buckets; Glue databases; the Athena workgroup.

    Attributes used by the other constructs: `key`, `raw_bucket`, `curated_bucket`, `lake` (every prefix and URI
    in them), `athena_results_bucket`, `access_log_bucket`, `database_names` (zone -> Glue name),
    `curated_database`, `workgroup_name`, `athena_output_location`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        bytes_scanned_cutoff: int = DEFAULT_BYTES_SCANNED_CUTOFF,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        project = config.project

        self.key = kms.Key(
            self,
            "Key",
            alias=f"alias/{project}-data",
            description=f"{project} data platform: lake buckets, Athena results, Glue job output and logs",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        # Every pipeline Lambda's log group (/aws/lambda/<project>-...) is encrypted with this key.
        allow_log_groups_to_use_key(self.key, f"/aws/lambda/{project}-*")

        # S3 server access logging cannot deliver into a KMS-encrypted bucket, so this one uses SSE-S3.
        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=removal_policy,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(ACCESS_LOG_RETENTION_DAYS),
                    noncurrent_version_expiration=Duration.days(NONCURRENT_VERSION_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )
        accept_checkov(self.access_log_bucket, ACCESS_LOG_BUCKET_FINDING)

        raw_rules = [
            s3.LifecycleRule(
                id="expire-raw",
                prefix=LakeKeys().raw_prefix(),
                expiration=Duration.days(config.raw_retention_days),
            ),
            *self._housekeeping_rules(),
        ]
        self.raw_bucket = self._bucket("Raw", "raw", raw_rules, removal_policy)
        self.curated_bucket = self._bucket("Curated", "curated", self._housekeeping_rules(), removal_policy)
        results_rules = [
            s3.LifecycleRule(id="expire-query-results", expiration=Duration.days(ATHENA_RESULT_RETENTION_DAYS)),
            *self._housekeeping_rules(),
        ]
        self.athena_results_bucket = self._bucket("AthenaResults", "athena-results", results_rules, removal_policy)
        self.lake = Lake(raw_bucket=self.raw_bucket.bucket_name, curated_bucket=self.curated_bucket.bucket_name)

        self.database_names: dict[str, str] = dict(database_names(project))
        self.curated_database = self.database_names["curated"]
        self.databases: dict[str, glue.Database] = {}
        for zone, name in self.database_names.items():
            self.databases[zone] = glue.Database(
                self,
                f"{zone.capitalize()}Database",
                database_name=name,
                description=f"{project}: {zone} zone",
            )

        self.workgroup_name = workgroup_name(project)
        athena_prefix = "athena"
        self.athena_output_location = f"s3://{self.athena_results_bucket.bucket_name}/{athena_prefix}/"
        self.athena_target = AthenaTarget(self.workgroup_name, self.athena_results_bucket, athena_prefix)
        self.workgroup = athena.CfnWorkGroup(
            self,
            "Workgroup",
            name=self.workgroup_name,
            description=f"{project} data platform: views, marts and data-quality assertions",
            state="ENABLED",
            # Lets `cdk destroy` remove the workgroup even after queries ran in it.
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=bytes_scanned_cutoff,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=self.athena_output_location,
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=self.key.key_arn
                    ),
                ),
            ),
        )

        # Stack outputs: where to drop CSV files and what to point Athena clients at.
        for output_id, value, description in (
            ("RawBucketName", self.raw_bucket.bucket_name, f"raw zone; drop CSV files under {LANDING_ROOT}<prefix>/"),
            ("CuratedBucketName", self.curated_bucket.bucket_name, "curated zone, quarantine, state, runs, audit"),
            ("AthenaWorkgroup", self.workgroup_name, "Athena workgroup for the curated, marts and audit databases"),
        ):
            CfnOutput(self, output_id, value=value, description=description)

    @staticmethod
    def _housekeeping_rules() -> list[s3.LifecycleRule]:
        return [
            s3.LifecycleRule(
                id="cleanup-noncurrent-versions",
                noncurrent_version_expiration=Duration.days(NONCURRENT_VERSION_DAYS),
                abort_incomplete_multipart_upload_after=Duration.days(7),
            )
        ]

    def _bucket(
        self, construct_id: str, log_prefix: str, rules: list[s3.LifecycleRule], removal_policy: RemovalPolicy
    ) -> s3.Bucket:
        return s3.Bucket(
            self,
            construct_id,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,  # one KMS call per object prefix instead of per request
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix=f"{log_prefix}/",
            lifecycle_rules=rules,
            removal_policy=removal_policy,
        )

    def grant_athena_query(self, grantee: iam.IGrantable) -> None:
        """Run queries in the workgroup and read/write its encrypted results (used by the workflow)."""
        stack = Stack.of(self)
        workgroup_arn = stack.format_arn(service="athena", resource="workgroup", resource_name=self.workgroup_name)
        catalog_arn = stack.format_arn(service="athena", resource="datacatalog", resource_name="AwsDataCatalog")
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "athena:StartQueryExecution",
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:StopQueryExecution",
                    "athena:GetWorkGroup",
                    "athena:GetDataCatalog",
                ],
                resources=[workgroup_arn, catalog_arn],
            )
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:GetBucketLocation"], resources=[self.athena_results_bucket.bucket_arn])
        )
        self.grant_prefixes(grantee, self.athena_results_bucket, ["athena/"], write=True)

    def grant_prefixes(
        self,
        grantee: iam.IGrantable,
        bucket: s3.IBucket,
        prefixes: list[str],
        *,
        write: bool = False,
        delete: bool = False,
    ) -> None:
        """Least-privilege S3 access: objects under `prefixes` only, listing restricted to the same prefixes.

        A prefix may contain `*` (`LakeKeys.any_run_prefix`). Reading is always granted: a writer re-reads its
        own objects (manifests, continuation parts). Encryption uses the lake key.
        """
        actions = ["s3:GetObject"]  # no s3:GetObjectVersion: nothing reads an older version (docs/permissions.md)
        if write:
            actions += ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
        if delete:
            actions += ["s3:DeleteObject"]
        principal = grantee.grant_principal
        principal.add_to_principal_policy(
            iam.PolicyStatement(actions=actions, resources=[bucket.arn_for_objects(f"{p}*") for p in prefixes])
        )
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
            )
        )
        self.grant_key(grantee, write=write)
        if isinstance(grantee, Construct):
            for p in prefixes:
                acknowledge(grantee, bucket_object_finding(bucket, f"{p}*"), PREFIX_REASON)

    def grant_key(self, grantee: iam.IGrantable, *, write: bool) -> None:
        """The lake key, for SSE-KMS objects only: S3 needs Decrypt to read and GenerateDataKey to write."""
        actions = ["kms:Decrypt", "kms:DescribeKey"] + (["kms:GenerateDataKey"] if write else [])
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=actions, resources=[self.key.key_arn])
        )


def allow_log_groups_to_use_key(key: kms.IKey, log_group_pattern: str) -> None:
    """Let CloudWatch Logs encrypt the log groups matching `log_group_pattern` with `key` (its key policy)."""
    stack = Stack.of(key)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name=log_group_pattern,
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )
    )
