"""Alarms to SNS and one dashboard: failed/timed-out executions, Glue job failures, Lambda errors and throttles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from dataplatform.config.models import PipelineConfig


class AlertTopic(Construct):
    """The KMS-encrypted failure topic. Created first: the state machine publishes to it."""

    def __init__(self, scope: Construct, construct_id: str, *, config: PipelineConfig, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.key = key
        # CloudWatch alarms and EventBridge publish to an encrypted topic only if they may use its key.
        for service in ("cloudwatch.amazonaws.com", "events.amazonaws.com"):
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal(service)],
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],
                )
            )
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=f"{config.project}-pipeline-alerts",
            display_name=f"{config.project} pipeline alerts",
            master_key=self.key,
            enforce_ssl=True,
        )
        if config.alerts.email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alerts.email))


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        topic: sns.ITopic,
        state_machine: sfn.IStateMachine,
        functions: Mapping[str, lambda_.IFunction],
        glue_job_names: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        action = cw_actions.SnsAction(topic)
        self.alarms: list[cw.Alarm] = []

        def alarm(alarm_id: str, metric: cw.IMetric, description: str) -> cw.Alarm:
            created = cw.Alarm(
                self,
                alarm_id,
                metric=metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
            created.add_alarm_action(action)
            self.alarms.append(created)
            return created

        period = Duration.minutes(5)
        failed = state_machine.metric_failed(period=period, statistic="Sum")
        timed_out = state_machine.metric_timed_out(period=period, statistic="Sum")
        alarm("ExecutionsFailed", failed, f"{config.project}: a pipeline execution failed")
        alarm("ExecutionsTimedOut", timed_out, f"{config.project}: a pipeline execution timed out")

        # Glue publishes job state changes to EventBridge; a rule turns FAILED/TIMEOUT/ERROR into a metric
        # (TriggeredRules) we alarm on, and also forwards the event itself to the topic with the job name.
        glue_rule = events.Rule(
            self,
            "GlueJobFailed",
            description=f"{config.project}: a standardize Glue job run failed",
            event_pattern=events.EventPattern(
                source=["aws.glue"],
                detail_type=["Glue Job State Change"],
                detail={"jobName": list(glue_job_names), "state": ["FAILED", "TIMEOUT", "ERROR"]},
            ),
            targets=[events_targets.SnsTopic(topic)],
        )
        glue_failures = cw.Metric(
            namespace="AWS/Events",
            metric_name="TriggeredRules",
            dimensions_map={"RuleName": glue_rule.rule_name},
            period=period,
            statistic="Sum",
        )
        alarm("GlueJobFailures", glue_failures, f"{config.project}: a Glue standardize job failed")

        lambda_errors: list[cw.IMetric] = []
        lambda_throttles: list[cw.IMetric] = []
        for name, function in sorted(functions.items()):
            errors = function.metric_errors(period=period, statistic="Sum")
            throttles = function.metric_throttles(period=period, statistic="Sum")
            alarm(f"{_pascal(name)}Errors", errors, f"{config.project}: Lambda {name} raised errors")
            alarm(f"{_pascal(name)}Throttles", throttles, f"{config.project}: Lambda {name} was throttled")
            lambda_errors.append(errors.with_(label=name))
            lambda_throttles.append(throttles.with_(label=name))

        self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=f"{config.project}-pipeline")
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Executions",
                left=[
                    state_machine.metric_started(period=period, statistic="Sum"),
                    state_machine.metric_succeeded(period=period, statistic="Sum"),
                    failed,
                    timed_out,
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="Execution time",
                left=[state_machine.metric_time(period=period, statistic="Maximum")],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Lambda errors", left=lambda_errors, width=8),
            cw.GraphWidget(title="Lambda throttles", left=lambda_throttles, width=8),
            cw.GraphWidget(title="Glue job failures", left=[glue_failures], width=8),
        )
        self.dashboard.add_widgets(
            cw.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=24),
        )


def _pascal(name: str) -> str:
    return "".join(part.title() for part in name.replace("-", "_").split("_"))
