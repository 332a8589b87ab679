"""Standardization: one Glue 5.1 job per dataset (raw -> its run's branch of the curated Iceberg tables) and the
publish job (a run's branches -> main), each with its own least-privilege role."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from dataplatform.config.models import PipelineConfig
from dataplatform.naming import publish_job_name, quarantine_table, security_configuration_name, standardize_job_name
from infra.bundling import dataplatform_zip, require_path
from infra.glue_jobs import catalog_arns, grant_job_logs_and_metrics, iceberg_job
from infra.storage import Storage, allow_log_groups_to_use_key

SCRIPT = Path("glue_jobs") / "standardize_job.py"
PUBLISH_SCRIPT = Path("glue_jobs") / "publish_job.py"
ICEBERG_COMMIT = ["glue:GetDatabase", "glue:GetTable", "glue:UpdateTable"]
"""Glue calls of Iceberg's GlueCatalog: load a table, and commit (UpdateTable with the version read)."""


class Standardization(Construct):
    """`<project>-standardize-<dataset>` per dataset running glue_jobs/standardize_job.py, and `<project>-publish`
    running glue_jobs/publish_job.py (docs/contracts.md, Glue jobs).

    `--run_id` and `--manifest_uris` (`--datasets` for publish) come per run from the workflow; everything else
    is a default argument.
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
        script_path = require_path(root / SCRIPT, "Glue standardization script")
        script = glue.Code.from_asset(str(script_path))
        package = glue.Code.from_asset(str(dataplatform_zip(root, script_path)))
        for dataset in config.datasets:
            self.jobs[dataset] = self._standardize_job(dataset, script, package)
        publish_path = require_path(root / PUBLISH_SCRIPT, "Glue publish script")
        self.publish_job = self._publish_job(
            glue.Code.from_asset(str(publish_path)), glue.Code.from_asset(str(dataplatform_zip(root, publish_path)))
        )

    def job_name(self, dataset: str) -> str:
        return standardize_job_name(self.config.project, dataset)

    @property
    def publish_job_name(self) -> str:
        return publish_job_name(self.config.project)

    def _common_arguments(self) -> dict[str, str]:
        lake = self.storage.lake
        return {
            "--curated_root": lake.curated_uri(),
            "--quarantine_root": lake.quarantine_uri(),
            "--config_uri": self.config_asset.s3_object_url,
            "--raw_bucket": lake.raw_bucket,
            "--curated_bucket": lake.curated_bucket,
            "--curated_database": self.storage.curated_database,
        }

    def _role(self, construct_id: str, description: str) -> iam.Role:
        role = iam.Role(
            self, construct_id, assumed_by=iam.ServicePrincipal("glue.amazonaws.com"), description=description
        )
        self.config_asset.grant_read(role)
        grant_job_logs_and_metrics(role)
        return role

    def _standardize_job(self, dataset: str, script: glue.Code, package: glue.Code) -> glue.PySparkEtlJob:
        lake = self.storage.lake
        construct_id = "".join(p.capitalize() for p in dataset.split("_"))
        role = self._role(
            f"{construct_id}Role",
            f"{self.job_name(dataset)}: reads {lake.raw_prefix(dataset)}, commits only its own Iceberg tables",
        )
        self._grant_standardize(role, dataset)
        return iceberg_job(
            self,
            construct_id,
            job_name=self.job_name(dataset),
            description=f"Standardize {dataset}: raw -> the run's branch of its curated Iceberg tables",
            role=role,
            script=script,
            package=package,
            arguments={"--dataset": dataset, **self._common_arguments()},
            warehouse=lake.curated_uri(),
            sizing=self.config.glue,
            security_configuration=self.security_configuration,
        )

    def _publish_job(self, script: glue.Code, package: glue.Code) -> glue.PySparkEtlJob:
        role = self._role("PublishRole", f"{self.publish_job_name}: moves main of the curated tables to a run's branch")
        self._grant_publish(role)
        return iceberg_job(
            self,
            "Publish",
            job_name=self.publish_job_name,
            description="Publish a run: fast-forward main of every curated table it staged to the run's branch",
            role=role,
            script=script,
            package=package,
            arguments=self._common_arguments(),
            warehouse=self.storage.lake.curated_uri(),
            sizing=self.config.glue.model_copy(update={"number_of_workers": 2, "auto_scaling": False}),
            security_configuration=self.security_configuration,
        )

    def _grant_standardize(self, role: iam.Role, dataset: str) -> None:
        storage, lake = self.storage, self.storage.lake
        storage.grant_prefixes(role, storage.raw_bucket, [lake.raw_prefix(dataset)])
        storage.grant_prefixes(
            role,
            storage.curated_bucket,
            [lake.curated_prefix(dataset), lake.quarantine_prefix(dataset), lake.any_run_prefix(dataset)],
            write=True,
            delete=True,  # Iceberg removes the files of a commit attempt that lost a conflict
        )
        database = storage.curated_database
        own = [dataset, quarantine_table(dataset)]
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="OwnIcebergTables",
                # CreateTable: the job creates its tables on first run (docs/contracts.md says why not the stack).
                actions=[*ICEBERG_COMMIT, "glue:CreateTable"],
                resources=catalog_arns(self, database, own),
            )
        )
        dependencies = list(self.config.datasets[dataset].depends_on)
        if dependencies:
            storage.grant_prefixes(role, storage.curated_bucket, [lake.curated_prefix(d) for d in dependencies])
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="ReadDependencyTables",
                    actions=["glue:GetDatabase", "glue:GetTable"],
                    resources=catalog_arns(self, database, dependencies),
                )
            )

    def _grant_publish(self, role: iam.Role) -> None:
        storage, lake = self.storage, self.storage.lake
        datasets = list(self.config.datasets)
        # Reads every dataset's standardize.json, writes its publish.json; commits write new table metadata only.
        storage.grant_prefixes(
            role,
            storage.curated_bucket,
            [
                *(lake.any_run_prefix(d) for d in datasets),
                *(lake.curated_prefix(d) for d in datasets),
                *(lake.quarantine_prefix(d) for d in datasets),
            ],
            write=True,
        )
        tables = [t for d in datasets for t in (d, quarantine_table(d))]
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PublishIcebergTables",
                actions=ICEBERG_COMMIT,
                resources=catalog_arns(self, storage.curated_database, tables),
            )
        )
