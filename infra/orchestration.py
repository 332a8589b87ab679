"""The workflow: one Standard (JSONPath) state machine that runs the whole pipeline, with its log group and the
permissions it needs beyond what its tasks grant. The definition is built phase by phase in infra/workflow/;
what starts it (schedule, landing events) is in infra/triggers.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from dataplatform.config import PipelineConfig
from dataplatform.naming import publish_job_name, standardize_job_name, state_machine_name
from infra.analytics import AthenaStep
from infra.nag import acknowledge
from infra.storage import allow_log_groups_to_use_key
from infra.workflow.definition import pipeline_definition
from infra.workflow.tasks import AthenaTarget
from infra.workflow_functions import WorkflowFunctions


class Orchestration(Construct):
    """`<project>-pipeline`: the state machine and its KMS-encrypted execution log."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        functions: WorkflowFunctions,
        ingest_functions: Mapping[str, lambda_.IFunction],
        athena: AthenaTarget,
        refresh_steps: Sequence[AthenaStep],
        staged_refresh_steps: Sequence[AthenaStep],
        assertion_steps: Sequence[AthenaStep],
        extra_tables: Sequence[str],
        alarm_topic: sns.ITopic,
        encryption_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        name = state_machine_name(config.project)
        # CloudWatch Logs encrypts with the key only if its service principal may use it.
        allow_log_groups_to_use_key(encryption_key, f"/aws/vendedlogs/states/{name}")
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/vendedlogs/states/{name}",
            encryption_key=encryption_key,
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.DESTROY,
        )
        definition = pipeline_definition(
            self,
            config=config,
            functions=functions,
            ingest_functions=ingest_functions,
            refresh_steps=refresh_steps,
            staged_refresh_steps=staged_refresh_steps,
            assertion_steps=assertion_steps,
            extra_tables=extra_tables,
            publish_job_name=publish_job_name(config.project),
            athena=athena,
            alert_topic=alarm_topic,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            query_language=sfn.QueryLanguage.JSON_PATH,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
            tracing_enabled=True,
            timeout=Duration.hours(6),
        )
        alarm_topic.grant_publish(self.state_machine)
        # Standardize jobs are addressed by a name computed at run time; allow exactly those, and the publish job.
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"],
                resources=[self._standardize_jobs_arn(), self._publish_job_arn()],
            )
        )
        self._acknowledge([*functions.functions.values(), *ingest_functions.values()])

    def _publish_job_arn(self) -> str:
        return Stack.of(self).format_arn(
            service="glue", resource="job", resource_name=publish_job_name(self.config.project)
        )

    def _standardize_jobs_arn(self) -> str:
        return Stack.of(self).format_arn(
            service="glue", resource="job", resource_name=standardize_job_name(self.config.project, "*")
        )

    def _acknowledge(self, invoked: Sequence[lambda_.IFunction]) -> None:
        """Exact cdk-nag findings of the state machine role, each with the reason it is as narrow as it can be."""
        stack = Stack.of(self)
        role = self.state_machine.role
        for function in invoked:
            logical = stack.resolve(stack.get_logical_id(function.node.default_child))  # type: ignore[arg-type]
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::<{logical}.Arn>:*]",
                "lambda:InvokeFunction on this one function's versions and aliases (aws-cdk-lib's LambdaInvoke grant).",
            )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "Only actions with no resource-level permissions, so AWS requires Resource '*': X-Ray tracing and "
            "CloudWatch Logs vended delivery (logs:CreateLogDelivery and friends). tests/infra/test_wildcards.py "
            "fails when any other action appears with Resource '*'.",
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::arn:{stack.partition}:glue:{stack.region}:{stack.account}:job/"
            f"{standardize_job_name(self.config.project, '*')}]",
            "The Glue job name is computed per dataset at run time (States.Format); the grant covers exactly this "
            "project's standardize jobs.",
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "Publishing to the KMS-encrypted alert topic needs GenerateDataKey* on that topic's key only "
            "(aws-cdk-lib's Topic.grantPublish).",
        )
