"""The data platform stack: composes the constructs and wires what they share. No resources of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Stack, Tags
from constructs import Construct

from dataplatform.api.data_access import defined_marts, served_marts
from dataplatform.athena import load_sql_files
from dataplatform.config.models import PipelineConfig
from infra.analytics import Analytics
from infra.api import Api
from infra.audit_table import AuditTable
from infra.ingestion import Ingestion
from infra.maintenance import Maintenance
from infra.monitoring import AlertTopic, Monitoring
from infra.nag import acknowledge
from infra.orchestration import Orchestration
from infra.standardization import Standardization
from infra.storage import Storage
from infra.triggers import Triggers
from infra.workflow_functions import WorkflowFunctions


class DataPlatformStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        root: Path,
        config_file: Path,
        sql_dir: Path,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        Tags.of(self).add("project", config.project)
        self.storage = Storage(self, "Storage", config=config)
        self.ingestion = Ingestion(
            self, "Ingestion", config=config, storage=self.storage, root=root, config_file=config_file
        )
        self.standardization = Standardization(
            self, "Standardization", config=config, storage=self.storage, root=root, config_file=config_file
        )
        storage = self.storage
        self.audit_table = AuditTable(
            self,
            "AuditTable",
            config=config,
            database=storage.databases["audit"],
            curated_bucket_name=storage.curated_bucket.bucket_name,
        )
        self.analytics = Analytics(
            self,
            "Analytics",
            config=config,
            sql_dir=sql_dir,
            database_names=storage.database_names,
            staged_database_names=storage.staged_database_names,
            workgroup_name=storage.workgroup.ref,  # a Ref, so named queries wait for the workgroup
            curated_bucket_name=storage.curated_bucket.bucket_name,
        )
        self.workflow_functions = WorkflowFunctions(
            self, "WorkflowFunctions", config=config, storage=storage, root=root, config_file=config_file
        )
        self.alerts = AlertTopic(self, "Alerts", config=config, key=storage.key)
        self.orchestration = Orchestration(
            self,
            "Orchestration",
            config=config,
            functions=self.workflow_functions,
            ingest_functions=self.ingestion.functions,
            athena=storage.athena_target,
            refresh_steps=self.analytics.refresh_steps,
            staged_refresh_steps=self.analytics.staged_refresh_steps,
            assertion_steps=self.analytics.assertion_steps,
            extra_tables=self.analytics.extra_tables,
            alarm_topic=self.alerts.topic,
            encryption_key=storage.key,
        )
        state_machine = self.orchestration.state_machine
        for statement in self.analytics.query_policy_statements():
            state_machine.add_to_role_policy(statement)
        for database in [*storage.database_names.values(), *storage.staged_database_names.values()]:
            acknowledge(
                state_machine.role,
                f"AwsSolutions-IAM5[Resource::arn:{self.partition}:glue:{self.region}:{self.account}:table/{database}/*]",
                "The workflow creates and replaces views/marts and reads tables of this deployment's own Glue "
                "database; their names come from the sql/ files, so the grant is per database.",
            )
        # Athena reads curated tables (and the audit prefix) on the workflow's behalf and writes encrypted results.
        storage.grant_athena_query(state_machine)
        storage.grant_prefixes(
            state_machine, storage.curated_bucket, [storage.lake.curated_prefix(), storage.lake.audit_prefix()]
        )
        self.triggers = Triggers(
            self,
            "Triggers",
            config=config,
            state_machine=state_machine,
            raw_bucket=storage.raw_bucket,
            key=storage.key,
        )
        self.maintenance = Maintenance(self, "Maintenance", config=config, storage=storage)
        self.api = Api(
            self,
            "Api",
            config=config,
            storage=storage,
            root=root,
            config_file=config_file,
            marts=served_marts(config, defined_marts(load_sql_files(sql_dir))),
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            topic=self.alerts.topic,
            state_machine=self.orchestration.state_machine,
            functions={
                **self.workflow_functions.functions,
                **self.ingestion.functions_by_folder,
                "api": self.api.function,
            },
            glue_job_names=[
                *(self.standardization.job_name(d) for d in config.datasets),
                self.standardization.publish_job_name,
            ],
        )
