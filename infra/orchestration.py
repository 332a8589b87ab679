"""The workflow: one Standard (JSONPath) state machine that runs the whole pipeline, plus its schedule.

resolve run -> ingest (Map, loop on `continue`) -> standardize (one Map per dependency wave, Glue .sync)
-> refresh views/marts (Athena .sync) -> DQ assertions (Athena .sync) -> check quality -> commit state
-> write audit -> Succeed. Every Task has Retry and Catch; a failure anywhere is notified on SNS and
recorded in a FAILED audit before the execution fails. Payloads carry URIs and counts, never data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack, TimeZone
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from dataplatform.config.models import PipelineConfig
from infra.functions import python_function
from infra.ingestion import lambda_environment
from infra.nag import acknowledge
from infra.storage import Storage, allow_log_groups_to_use_key

WORKFLOW_FUNCTIONS = ("resolve_run", "check_quality", "commit_state", "write_audit")
"""Lambda folders (lambdas/<name>/handler.py) this module deploys."""


def function_name(project: str, folder: str) -> str:
    """Physical Lambda name: `<project>-<folder with dashes>`; the local runner maps it back to the folder."""
    return f"{project}-{folder.replace('_', '-')}"


def standardize_job_name(project: str, dataset: str) -> str:
    return f"{project}-standardize-{dataset}"


@dataclass(frozen=True)
class AthenaQuery:
    """One statement of the analytics layer, already rendered for this deployment (prefixed databases)."""

    name: str
    database: str
    sql: str
    severity: str | None = None
    """Assertions only: `error` fails the run, `warn` is recorded."""


class WorkflowFunctions(Construct):
    """The four Lambdas the workflow itself needs (ingestion functions come from the ingestion construct)."""

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
        self.functions: dict[str, lambda_.Function] = {}
        self.roles: dict[str, iam.Role] = {}
        for folder in WORKFLOW_FUNCTIONS:
            name = function_name(config.project, folder)
            construct_name = folder.title().replace("_", "")
            self.functions[folder], role = python_function(
                self,
                construct_name,
                folder=folder,
                function_name=name,
                description=f"{config.project} workflow step {folder}",
                role_description=f"{name}: workflow step {folder}",
                root=root,
                config_file=config_file,
                environment=lambda_environment(config, storage, folder),
                memory_mb=512,
                timeout=Duration.minutes(5),
            )
            self.roles[folder] = role

        # Least privilege: each function gets only the prefixes it reads or writes.
        datasets = list(config.datasets)
        raw_prefixes = [f"raw/{d}/" for d in datasets]
        commit = self.roles["commit_state"]
        storage.grant_prefixes(commit, storage.raw_bucket, raw_prefixes)
        storage.grant_prefixes(commit, storage.curated_bucket, ["runs/"])
        storage.grant_prefixes(commit, storage.curated_bucket, ["state/"], write=True)

        audit = self.roles["write_audit"]
        storage.grant_prefixes(audit, storage.raw_bucket, raw_prefixes)
        storage.grant_prefixes(audit, storage.curated_bucket, ["runs/", "state/"])
        storage.grant_prefixes(audit, storage.curated_bucket, ["audit/"], write=True)

        quality = self.roles["check_quality"]
        storage.grant_athena_query(quality)
        storage.grant_prefixes(quality, storage.curated_bucket, ["runs/"], write=True)

    @property
    def resolve_run(self) -> lambda_.IFunction:
        return self.functions["resolve_run"]

    @property
    def check_quality(self) -> lambda_.IFunction:
        return self.functions["check_quality"]

    @property
    def commit_state(self) -> lambda_.IFunction:
        return self.functions["commit_state"]

    @property
    def write_audit(self) -> lambda_.IFunction:
        return self.functions["write_audit"]


# Errors worth retrying: service hiccups, throttling, Lambda's own transient failures. Application errors
# (a bad row, a QualityError) are not retried; they go straight to the Catch.
TRANSIENT_LAMBDA_ERRORS = [
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]


class Orchestration(Construct):
    """State machine, its log group, the schedule and (optionally) the landing-event trigger."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        functions: WorkflowFunctions,
        ingest_functions: Mapping[str, lambda_.IFunction],
        raw_bucket: s3.IBucket,
        curated_bucket: s3.IBucket,
        config_uri: str,
        athena_workgroup: str,
        refresh_queries: Sequence[AthenaQuery],
        assertions: Sequence[AthenaQuery],
        alarm_topic: sns.ITopic,
        encryption_key: kms.IKey | None = None,
        landing_events: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self._topic = alarm_topic
        stack = Stack.of(self)

        self.key = encryption_key or kms.Key(
            self,
            "LogKey",
            enable_key_rotation=True,
            description=f"{config.project} workflow logs and DLQ",
            removal_policy=RemovalPolicy.DESTROY,
        )
        # CloudWatch Logs encrypts with the key only if its service principal may use it.
        allow_log_groups_to_use_key(self.key, "*")
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/vendedlogs/states/{config.project}-pipeline",
            encryption_key=self.key,
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.DESTROY,
        )

        self._failure_handlers: list[tuple[sfn.TaskStateBase | sfn.Map, str]] = []
        definition = self._definition(
            functions=functions,
            ingest_functions=ingest_functions,
            curated_bucket=curated_bucket,
            config_uri=config_uri,
            athena_workgroup=athena_workgroup,
            refresh_queries=refresh_queries,
            assertions=assertions,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=f"{config.project}-pipeline",
            state_machine_type=sfn.StateMachineType.STANDARD,
            query_language=sfn.QueryLanguage.JSON_PATH,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
            tracing_enabled=True,
            timeout=Duration.hours(6),
        )
        alarm_topic.grant_publish(self.state_machine)
        # Glue jobs are addressed by a name computed at run time; allow exactly the standardize jobs.
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"],
                resources=[
                    stack.format_arn(
                        service="glue", resource="job", resource_name=standardize_job_name(config.project, "*")
                    )
                ],
            )
        )

        self._acknowledge(functions, ingest_functions)

        self.dlq = sqs.Queue(
            self,
            "ScheduleDlq",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description=f"Scheduled run of the {config.project} pipeline (default window, {config.schedule.timezone})",
            schedule=scheduler.ScheduleExpression.expression(
                config.schedule.expression, time_zone=TimeZone.of(config.schedule.timezone)
            ),
            enabled=config.schedule.enabled,
            target=scheduler_targets.StepFunctionsStartExecution(
                self.state_machine,
                input=scheduler.ScheduleTargetInput.from_object({}),
                dead_letter_queue=self.dlq,
                retry_attempts=3,
                max_event_age=Duration.hours(2),
            ),
        )
        # The scheduler puts undeliverable events on the DLQ with its own principal; the key must allow it.
        self.key.grant_encrypt_decrypt(iam.ServicePrincipal("scheduler.amazonaws.com"))
        acknowledge(
            self.dlq,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter queue of the schedule and the landing-event rule targets.",
        )

        self.landing_rule: events.Rule | None = None
        csv_datasets = config.datasets_of_kind("csv")
        if landing_events and csv_datasets:
            prefixes = [
                config.datasets[name].source.location  # type: ignore[union-attr]
                for name in csv_datasets
                if config.datasets[name].source.location.startswith("landing/")  # type: ignore[union-attr]
            ]
            if prefixes:
                if not isinstance(raw_bucket, s3.Bucket):
                    raise TypeError("landing_events needs the raw bucket defined in this app (to enable EventBridge)")
                raw_bucket.enable_event_bridge_notification()
                handler = Stack.of(self).node.try_find_child(
                    "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"
                )
                if handler is not None:
                    acknowledge(
                        handler,
                        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                        "AWSLambdaBasicExecutionRole]",
                        "aws-cdk-lib's deploy-time handler that turns on the raw bucket's EventBridge notifications; "
                        "the managed policy only lets it write its own logs.",
                    )
                self.landing_rule = events.Rule(
                    self,
                    "LandingRule",
                    description="A CSV dropped into the landing prefix starts a run for the CSV datasets only",
                    event_pattern=events.EventPattern(
                        source=["aws.s3"],
                        detail_type=["Object Created"],
                        detail={
                            "bucket": {"name": [raw_bucket.bucket_name]},
                            "object": {"key": [{"prefix": p} for p in prefixes]},
                        },
                    ),
                    targets=[
                        events_targets.SfnStateMachine(
                            self.state_machine,
                            input=events.RuleTargetInput.from_object({"datasets": csv_datasets}),
                            dead_letter_queue=self.dlq,
                            retry_attempts=3,
                            max_event_age=Duration.hours(2),
                        )
                    ],
                )

    def _acknowledge(self, functions: WorkflowFunctions, ingest_functions: Mapping[str, lambda_.IFunction]) -> None:
        """Exact cdk-nag findings of the state machine role, each with the reason it is as narrow as it can be."""
        stack = Stack.of(self)
        role = self.state_machine.role
        for function in [*functions.functions.values(), *ingest_functions.values()]:
            logical = stack.resolve(stack.get_logical_id(function.node.default_child))  # type: ignore[arg-type]
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::<{logical}.Arn>:*]",
                "lambda:InvokeFunction on this one function's versions and aliases (aws-cdk-lib's LambdaInvoke grant).",
            )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray tracing and CloudWatch Logs vended delivery (logs:CreateLogDelivery and friends) support no "
            "resource-level permissions, so AWS requires Resource '*'.",
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::arn:{stack.partition}:glue:{stack.region}:{stack.account}:job/"
            f"{standardize_job_name(self.config.project, '*')}]",
            "The Glue job name is computed per dataset at run time (States.Format); the grant covers exactly this "
            "project's standardize jobs.",
        )
        for kind in ("table", "userDefinedFunction"):
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::arn:{stack.partition}:glue:{stack.region}:{stack.account}:{kind}/"
                "$.database/*]",
                "aws-cdk-lib derives this ARN from the QueryExecutionContext JSONPath ($.database); it matches no "
                "real database. The effective Glue grants are the explicit per-database statements from Analytics.",
            )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "Publishing to the KMS-encrypted alert topic needs GenerateDataKey* on that topic's key only "
            "(aws-cdk-lib's Topic.grantPublish).",
        )

    # ------------------------------------------------------------------ definition

    def _lambda_task(
        self,
        state_id: str,
        function: lambda_.IFunction,
        payload: Mapping[str, object],
        result_selector: Mapping[str, str] | None,
        result_path: str,
    ) -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            self,
            state_id,
            lambda_function=function,
            payload=sfn.TaskInput.from_object(dict(payload)),
            result_selector=dict(result_selector) if result_selector else None,
            result_path=result_path,
            retry_on_service_exceptions=False,  # replaced by the explicit Retry below
        )
        task.add_retry(
            errors=TRANSIENT_LAMBDA_ERRORS,
            interval=Duration.seconds(2),
            max_attempts=3,
            backoff_rate=2,
            jitter_strategy=sfn.JitterType.FULL,
        )
        return task

    def _definition(
        self,
        *,
        functions: WorkflowFunctions,
        ingest_functions: Mapping[str, lambda_.IFunction],
        curated_bucket: s3.IBucket,
        config_uri: str,
        athena_workgroup: str,
        refresh_queries: Sequence[AthenaQuery],
        assertions: Sequence[AthenaQuery],
    ) -> sfn.IChainable:
        config = self.config
        project = config.project

        # ---------------- failure path: record the step and error, notify, audit, fail
        notify = tasks.SnsPublish(
            self,
            "NotifyFailure",
            topic=self._topic,
            subject=f"{project} pipeline run failed",
            message=sfn.TaskInput.from_object(
                {
                    "execution.$": "$$.Execution.Id",
                    "run_id.$": "$.run.run_id",
                    "step.$": "$.failure.step",
                    "error.$": "$.failure.error",
                    "cause.$": "$.failure.cause",
                    "message.$": "$.failure.message",
                }
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        notify.add_retry(errors=["States.ALL"], interval=Duration.seconds(2), max_attempts=3, backoff_rate=2)
        audit_failed = self._lambda_task(
            "WriteAuditFailed",
            functions.write_audit,
            {
                "run_id.$": "$.run.run_id",
                "window.$": "$.run.window",
                "datasets.$": "$.run.dataset_names",
                "status": "FAILED",
                "error": {"step.$": "$.failure.step", "cause.$": "$.failure.cause"},
                "started_at.$": "$$.Execution.StartTime",
            },
            None,
            sfn.JsonPath.DISCARD,
        )
        # One well-known error name for every failed run; the cause names the step, the original error and cause.
        # (A Fail state re-raising a `States.*` name is not portable, so the original goes into the cause.)
        failed = sfn.Fail(self, "PipelineFailed", error="PipelineFailed", cause_path="$.failure.message")
        # A failed audit write must not hide the original error: it is caught and the run still fails.
        audit_failed.add_catch(failed, errors=["States.ALL"], result_path="$.audit_error")
        notify.add_catch(audit_failed, errors=["States.ALL"], result_path="$.notify_error")
        notify.next(audit_failed)
        audit_failed.next(failed)

        # resolve_run has no run yet: notify and fail (there is no dataset to write an audit line for).
        notify_resolve = tasks.SnsPublish(
            self,
            "NotifyResolveFailure",
            topic=self._topic,
            subject=f"{project} pipeline run could not start",
            message=sfn.TaskInput.from_object(
                {
                    "execution.$": "$$.Execution.Id",
                    "step": "ResolveRun",
                    "error.$": "$.failure.Error",
                    "cause.$": "$.failure.Cause",
                }
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        notify_resolve.add_retry(errors=["States.ALL"], interval=Duration.seconds(2), max_attempts=3, backoff_rate=2)
        resolve_failed = sfn.Fail(self, "ResolveFailed", error="ResolveRunFailed", cause_path="$.failure.Cause")
        notify_resolve.add_catch(resolve_failed, errors=["States.ALL"], result_path="$.notify_error")
        notify_resolve.next(resolve_failed)

        def on_failure(state: sfn.TaskStateBase | sfn.Map, step: str) -> None:
            record = sfn.Pass(
                self,
                f"Failed{step}",
                parameters={
                    "step": step,
                    "error.$": "$.caught.Error",
                    "cause.$": "$.caught.Cause",
                    "message.$": f"States.Format('{step} failed with {{}}: {{}}', $.caught.Error, $.caught.Cause)",
                },
                result_path="$.failure",
            )
            record.next(notify)
            state.add_catch(record, errors=["States.ALL"], result_path="$.caught")

        # ---------------- resolve
        resolve = self._lambda_task(
            "ResolveRun",
            functions.resolve_run,
            {"input.$": "$$.Execution.Input", "started_at.$": "$$.Execution.StartTime"},
            {
                "run_id.$": "$.Payload.run_id",
                "window.$": "$.Payload.window",
                "ingest_date.$": "$.Payload.ingest_date",
                "datasets.$": "$.Payload.datasets",
                "dataset_names.$": "$.Payload.dataset_names",
                "waves.$": "$.Payload.waves",
            },
            "$.run",
        )
        resolve.add_catch(notify_resolve, errors=["States.ALL"], result_path="$.failure")

        # ---------------- ingest: Map over the selected datasets, Choice on kind, loop while `continue`
        ingest_map = sfn.Map(
            self,
            "Ingest",
            items_path="$.run.datasets",
            item_selector={
                "dataset.$": "$$.Map.Item.Value.dataset",
                "kind.$": "$$.Map.Item.Value.kind",
                "run_id.$": "$.run.run_id",
                "window.$": "$.run.window",
                "ingest_date.$": "$.run.ingest_date",
                # CDK drops literal nulls, so the initial null cursor comes from resolve_run's item.
                "cursor.$": "$$.Map.Item.Value.cursor",
            },
            result_path="$.ingest",
        )
        kind_choice = sfn.Choice(self, "SourceKind")
        dataset_cause = self._item_failure("Ingest", "$.dataset", "IngestFailed")
        again = sfn.Choice(self, "IngestMore")
        continue_with_cursor = sfn.Pass(
            self,
            "NextChunk",
            parameters={
                "dataset.$": "$.dataset",
                "kind.$": "$.kind",
                "run_id.$": "$.run_id",
                "window.$": "$.window",
                "ingest_date.$": "$.ingest_date",
                "cursor.$": "$.result.cursor",
            },
        )
        continue_with_cursor.next(kind_choice)
        ingested = sfn.Pass(
            self,
            "Ingested",
            parameters={
                "dataset.$": "$.dataset",
                "manifest_uri.$": "$.result.manifest_uri",
                "rows.$": "$.result.rows",
                "bytes.$": "$.result.bytes",
                "files.$": "$.result.files",
            },
        )
        again.when(sfn.Condition.string_equals("$.result.status", "continue"), continue_with_cursor)
        again.otherwise(ingested)
        for kind in sorted({ds.source.kind for ds in config.datasets.values()}):
            if kind not in ingest_functions:
                raise ValueError(f"pipeline.yaml has {kind} datasets but no ingest function for kind '{kind}'")
            task = self._lambda_task(
                f"Ingest{kind.title()}",
                ingest_functions[kind],
                {
                    "dataset.$": "$.dataset",
                    "run_id.$": "$.run_id",
                    "window.$": "$.window",
                    "ingest_date.$": "$.ingest_date",
                    "cursor.$": "$.cursor",
                },
                {
                    "status.$": "$.Payload.status",
                    "cursor.$": "$.Payload.cursor",
                    "manifest_uri.$": "$.Payload.manifest_uri",
                    "rows.$": "$.Payload.rows",
                    "bytes.$": "$.Payload.bytes",
                    "files.$": "$.Payload.files",
                },
                "$.result",
            )
            task.add_catch(dataset_cause, errors=["States.ALL"], result_path="$.caught")
            task.next(again)
            kind_choice.when(sfn.Condition.string_equals("$.kind", kind), task)
        kind_choice.otherwise(
            sfn.Fail(
                self,
                "UnknownKind",
                error="UnknownSourceKind",
                cause="dataset has a source kind with no ingest function",
            )
        )
        ingest_map.item_processor(kind_choice)
        on_failure(ingest_map, "Ingest")

        chain: sfn.Chain = sfn.Chain.start(resolve).next(ingest_map)

        # ---------------- standardize: one Map per dependency wave, Glue .sync per dataset
        for index, _wave in enumerate(config.waves()):
            wave_map = sfn.Map(
                self,
                f"StandardizeWave{index + 1}",
                items_path=f"$.run.waves[{index}]",
                item_selector={
                    "dataset.$": "$$.Map.Item.Value.dataset",
                    "manifest_uri.$": "$$.Map.Item.Value.manifest_uri",
                    "run_id.$": "$.run.run_id",
                },
                result_path=sfn.JsonPath.DISCARD,
            )
            glue = tasks.GlueStartJobRun(
                self,
                f"Standardize{index + 1}",
                glue_job_name=sfn.JsonPath.format(f"{project}-standardize-{{}}", sfn.JsonPath.string_at("$.dataset")),
                integration_pattern=sfn.IntegrationPattern.RUN_JOB,
                arguments=sfn.TaskInput.from_object(
                    {
                        "--dataset.$": "$.dataset",
                        "--run_id.$": "$.run_id",
                        "--manifest_uris.$": "$.manifest_uri",
                        "--curated_root": f"s3://{curated_bucket.bucket_name}/curated/",
                        "--quarantine_root": f"s3://{curated_bucket.bucket_name}/curated/_quarantine/",
                        "--config_uri": config_uri,
                    }
                ),
                # Only scalars: the full JobRun has datetimes (and is large).
                result_selector={"job_run_id.$": "$.Id", "state.$": "$.JobRunState"},
                result_path="$.job",
            )
            glue.add_retry(
                errors=[
                    "Glue.ConcurrentRunsExceededException",
                    "Glue.ThrottlingException",
                    "Glue.InternalServiceException",
                ],
                interval=Duration.seconds(30),
                max_attempts=3,
                backoff_rate=2,
            )
            glue_failed = self._item_failure(f"Standardize{index + 1}", "$.dataset", "StandardizeFailed")
            glue.add_catch(glue_failed, errors=["States.ALL"], result_path="$.caught")
            wave_map.item_processor(glue)
            on_failure(wave_map, f"StandardizeWave{index + 1}")
            chain = chain.next(wave_map)

        # ---------------- analytics: refresh views and marts in order, then the DQ assertions
        if refresh_queries:
            chain = chain.next(
                sfn.Pass(
                    self,
                    "RefreshQueries",
                    result=sfn.Result.from_array(
                        [{"name": q.name, "database": q.database, "sql": q.sql} for q in refresh_queries]
                    ),
                    result_path="$.refresh",
                )
            )
            refresh_map = sfn.Map(
                self,
                "Refresh",
                items_path="$.refresh",
                max_concurrency=1,  # views build on each other: keep the given order
                item_selector={
                    "name.$": "$$.Map.Item.Value.name",
                    "database.$": "$$.Map.Item.Value.database",
                    "sql.$": "$$.Map.Item.Value.sql",
                },
                result_path=sfn.JsonPath.DISCARD,
            )
            refresh = self._athena_task("RefreshQuery", athena_workgroup)
            refresh_failed = self._item_failure("Refresh", "$.name", "RefreshFailed")
            refresh.add_catch(refresh_failed, errors=["States.ALL"], result_path="$.caught")
            refresh_map.item_processor(refresh)
            on_failure(refresh_map, "Refresh")
            chain = chain.next(refresh_map)

        if assertions:
            chain = chain.next(
                sfn.Pass(
                    self,
                    "AssertionQueries",
                    result=sfn.Result.from_array(
                        [
                            {"name": q.name, "severity": q.severity or "error", "database": q.database, "sql": q.sql}
                            for q in assertions
                        ]
                    ),
                    result_path="$.dq",
                )
            )
            dq_map = sfn.Map(
                self,
                "Assertions",
                items_path="$.dq",
                max_concurrency=4,
                item_selector={
                    "name.$": "$$.Map.Item.Value.name",
                    "severity.$": "$$.Map.Item.Value.severity",
                    "database.$": "$$.Map.Item.Value.database",
                    "sql.$": "$$.Map.Item.Value.sql",
                },
                result_path="$.dq",
            )
            assertion = self._athena_task("AssertionQuery", athena_workgroup)
            assertion_failed = self._item_failure("Assertion", "$.name", "AssertionFailed")
            assertion.add_catch(assertion_failed, errors=["States.ALL"], result_path="$.caught")
            assertion.next(
                sfn.Pass(
                    self,
                    "AssertionRef",
                    parameters={
                        "name.$": "$.name",
                        "severity.$": "$.severity",
                        "query_execution_id.$": "$.query.query_execution_id",
                    },
                )
            )
            dq_map.item_processor(assertion)
            on_failure(dq_map, "Assertions")
            check = self._lambda_task(
                "CheckQuality",
                functions.check_quality,
                {"run_id.$": "$.run.run_id", "query_execution_ids.$": "$.dq"},
                {"errors.$": "$.Payload.errors", "warnings.$": "$.Payload.warnings"},
                "$.quality",
            )
            on_failure(check, "CheckQuality")
            chain = chain.next(dq_map).next(check)

        commit = self._lambda_task(
            "CommitState",
            functions.commit_state,
            {"run_id.$": "$.run.run_id", "datasets.$": "$.run.dataset_names"},
            {"committed.$": "$.Payload.committed"},
            "$.commit",
        )
        on_failure(commit, "CommitState")
        audit = self._lambda_task(
            "WriteAudit",
            functions.write_audit,
            {
                "run_id.$": "$.run.run_id",
                "window.$": "$.run.window",
                "datasets.$": "$.run.dataset_names",
                "status": "SUCCEEDED",
                "started_at.$": "$$.Execution.StartTime",
            },
            None,
            sfn.JsonPath.DISCARD,
        )
        on_failure(audit, "WriteAudit")
        done = sfn.Pass(
            self,
            "Summary",
            parameters={
                "run_id.$": "$.run.run_id",
                "window.$": "$.run.window",
                "datasets.$": "$.run.dataset_names",
                "ingest.$": "$.ingest",
                "committed.$": "$.commit.committed",
            },
        )
        return chain.next(commit).next(audit).next(done).next(sfn.Succeed(self, "Done"))

    def _item_failure(self, prefix: str, item_path: str, error: str) -> sfn.Pass:
        """Inside a Map: fail the iteration with a fixed error whose cause names the item and the original error."""
        describe = sfn.Pass(
            self,
            f"{prefix}ItemCause",
            parameters={"cause.$": f"States.Format('{{}}: {{}}: {{}}', {item_path}, $.caught.Error, $.caught.Cause)"},
        )
        describe.next(sfn.Fail(self, f"{prefix}ItemFailed", error=error, cause_path="$.cause"))
        return describe

    def _athena_task(self, state_id: str, workgroup: str) -> tasks.AthenaStartQueryExecution:
        task = tasks.AthenaStartQueryExecution(
            self,
            state_id,
            query_string=sfn.JsonPath.string_at("$.sql"),
            query_execution_context=tasks.QueryExecutionContext(database_name=sfn.JsonPath.string_at("$.database")),
            work_group=workgroup,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            # Only scalars: QueryExecution has datetimes.
            result_selector={
                "query_execution_id.$": "$.QueryExecution.QueryExecutionId",
                "state.$": "$.QueryExecution.Status.State",
            },
            result_path="$.query",
        )
        task.add_retry(
            errors=["Athena.TooManyRequestsException", "Athena.InternalServerException"],
            interval=Duration.seconds(5),
            max_attempts=3,
            backoff_rate=2,
        )
        return task
