"""Weekly Iceberg maintenance: its own state machine `<project>-maintenance` on its own schedule
(`maintenance:` in pipeline.yaml) running Athena's OPTIMIZE and VACUUM on every curated and quarantine table."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, TimeZone
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from dataplatform.athena.maintenance import maintained_tables, maintenance_statements
from dataplatform.config import PipelineConfig
from dataplatform.naming import maintenance_state_machine_name
from infra.glue_jobs import catalog_arns
from infra.nag import STATE_MACHINE_REASON, acknowledge, acknowledge_athena_task_arns
from infra.storage import Storage, allow_log_groups_to_use_key
from infra.workflow.tasks import athena_step


class Maintenance(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: PipelineConfig, storage: Storage) -> None:
        super().__init__(scope, construct_id)
        name = maintenance_state_machine_name(config.project)
        allow_log_groups_to_use_key(storage.key, "*")
        log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/vendedlogs/states/{name}",
            encryption_key=storage.key,
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.DESTROY,
        )
        statements = sfn.Pass(
            self,
            "MaintenanceQueries",
            result=sfn.Result.from_array(maintenance_statements(config)),
            result_path="$.queries",
        )
        each = sfn.Map(self, "Maintain", items_path="$.queries", max_concurrency=1, result_path=sfn.JsonPath.DISCARD)
        each.item_processor(athena_step(self, "MaintenanceQuery", storage.athena_target))
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            query_language=sfn.QueryLanguage.JSON_PATH,
            definition_body=sfn.DefinitionBody.from_chainable(statements.next(each)),
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
            tracing_enabled=True,
            timeout=Duration.hours(6),
        )
        self._grant(config, storage)
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description=f"Weekly Iceberg maintenance of {config.project} ({config.maintenance.timezone})",
            schedule=scheduler.ScheduleExpression.expression(
                config.maintenance.expression, time_zone=TimeZone.of(config.maintenance.timezone)
            ),
            enabled=config.maintenance.enabled,
            target=scheduler_targets.StepFunctionsStartExecution(
                self.state_machine, input=scheduler.ScheduleTargetInput.from_object({})
            ),
        )

    def _grant(self, config: PipelineConfig, storage: Storage) -> None:
        """Athena runs OPTIMIZE and VACUUM with the caller's permissions: the tables' Glue entries (a commit is an
        UpdateTable) and their files; VACUUM deletes expired files, and without s3:DeleteObject it succeeds
        deleting nothing."""
        machine = self.state_machine
        storage.grant_athena_query(machine)
        storage.grant_prefixes(
            machine, storage.curated_bucket, [storage.lake.curated_prefix()], write=True, delete=True
        )
        database = config.glue_database("curated")
        machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["glue:GetDatabase", "glue:GetTable", "glue:UpdateTable"],
                resources=catalog_arns(self, database, maintained_tables(config)),
            )
        )
        acknowledge(machine.role, "AwsSolutions-IAM5[Resource::*]", STATE_MACHINE_REASON)
        acknowledge_athena_task_arns(machine.role)
