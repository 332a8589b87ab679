"""The data platform stack: composes the constructs and wires what they share. No resources of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Stack, Tags
from constructs import Construct

from dataplatform.config.models import PipelineConfig
from infra.analytics import Analytics
from infra.audit_table import AuditTable
from infra.ingestion import Ingestion
from infra.monitoring import AlertTopic, Monitoring
from infra.nag import acknowledge
from infra.orchestration import AthenaQuery, Orchestration, WorkflowFunctions
from infra.standardization import Standardization
from infra.storage import Storage


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
        database_names = {zone: config.glue_database(zone) for zone in ("curated", "marts", "audit")}
        self.audit_table = AuditTable(
            self,
            "AuditTable",
            config=config,
            database=self.storage.databases["audit"],
            curated_bucket_name=self.storage.curated_bucket.bucket_name,
        )
        self.analytics = Analytics(
            self,
            "Analytics",
            config=config,
            sql_dir=sql_dir,
            database_names=database_names,
            workgroup_name=self.storage.workgroup.ref,  # a Ref, so named queries wait for the workgroup
            curated_bucket_name=self.storage.curated_bucket.bucket_name,
        )
        self.workflow_functions = WorkflowFunctions(
            self,
            "WorkflowFunctions",
            config=config,
            storage=self.storage,
            root=root,
            config_file=config_file,
        )
        self.alerts = AlertTopic(self, "Alerts", config=config, key=self.storage.key)
        self.orchestration = Orchestration(
            self,
            "Orchestration",
            config=config,
            functions=self.workflow_functions,
            ingest_functions=self.ingestion.functions,
            raw_bucket=self.storage.raw_bucket,
            curated_bucket=self.storage.curated_bucket,
            config_uri=self.standardization.config_asset.s3_object_url,
            athena_workgroup=self.storage.workgroup_name,
            refresh_queries=[AthenaQuery(s.name, s.database, s.query) for s in self.analytics.refresh_steps],
            assertions=[AthenaQuery(s.name, s.database, s.query, s.severity) for s in self.analytics.assertion_steps],
            alarm_topic=self.alerts.topic,
            encryption_key=self.storage.key,
            landing_events=True,
        )
        for statement in self.analytics.query_policy_statements():
            self.orchestration.state_machine.add_to_role_policy(statement)
        for database in database_names.values():
            acknowledge(
                self.orchestration.state_machine.role,
                f"AwsSolutions-IAM5[Resource::arn:{self.partition}:glue:{self.region}:{self.account}:table/{database}/*]",
                "The workflow creates and replaces views/marts and reads tables of this deployment's own Glue "
                "database; their names come from the sql/ files, so the grant is per database.",
            )
        # Athena reads curated tables (and the audit prefix) on the workflow's behalf and writes encrypted results.
        self.storage.grant_athena_query(self.orchestration.state_machine)
        self.storage.grant_prefixes(
            self.orchestration.state_machine, self.storage.curated_bucket, ["curated/", "audit/"]
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            topic=self.alerts.topic,
            state_machine=self.orchestration.state_machine,
            functions={
                **self.workflow_functions.functions,
                **{f"ingest_{k}": f for k, f in self.ingestion.functions.items()},
            },
            glue_job_names=[self.standardization.job_name(d) for d in config.datasets],
        )
