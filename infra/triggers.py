"""What starts the workflow: the EventBridge Scheduler schedule, and an EventBridge rule for files dropped into a
landing prefix. Undeliverable starts of either go to one KMS-encrypted dead-letter queue."""

from __future__ import annotations

from aws_cdk import Duration, TimeZone
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from dataplatform.config import PipelineConfig
from infra.nag import acknowledge

RETRY_ATTEMPTS = 3
MAX_EVENT_AGE = Duration.hours(2)


def enable_event_bridge(bucket: s3.IBucket) -> None:
    """Send the bucket's object events to EventBridge, through the bucket's own CloudFormation property.

    (`Bucket.enable_event_bridge_notification()` would add aws-cdk-lib's notifications custom resource: a
    Lambda with a managed-policy role, for a setting CloudFormation has natively.) Do not also add S3
    notifications through the L2 bucket: its custom resource would own the same configuration.
    """
    resource = bucket.node.default_child
    if not isinstance(resource, s3.CfnBucket):
        raise TypeError(f"{bucket.node.path}: landing events need the raw bucket defined in this app")
    resource.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
        event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True)
    )


def landing_trigger() -> dict[str, str]:
    """The event's id and time (and key): a run of its own per landing event (dataplatform/workflow/run.py,
    `LandingTrigger`), so a file dropped after an earlier run of the same day is ingested by its own run."""
    return {
        "event_id": events.EventField.from_path("$.id"),
        "time": events.EventField.time,
        "key": events.EventField.from_path("$.detail.object.key"),
    }


class Triggers(Construct):
    """The schedule (`schedule:` in pipeline.yaml) and, when `landing_events` and a dataset reads a landing prefix,
    the rule that starts a run for those datasets when a file lands in the raw bucket."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        state_machine: sfn.IStateMachine,
        raw_bucket: s3.IBucket,
        key: kms.IKey,
        landing_events: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dlq = sqs.Queue(
            self,
            "ScheduleDlq",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        # The scheduler puts undeliverable events on the DLQ with its own principal; the key must allow it.
        key.grant_encrypt_decrypt(iam.ServicePrincipal("scheduler.amazonaws.com"))
        acknowledge(
            self.dlq,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter queue of the schedule and the landing-event rule targets.",
        )
        timezone = config.schedule.timezone
        expression = scheduler.ScheduleExpression.expression(
            config.schedule.expression, time_zone=TimeZone.of(timezone)
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description=f"Scheduled run of the {config.project} pipeline (default window, {timezone})",
            schedule=expression,
            enabled=config.schedule.enabled,
            target=scheduler_targets.StepFunctionsStartExecution(
                state_machine,
                input=scheduler.ScheduleTargetInput.from_object({"trigger": "schedule"}),
                dead_letter_queue=self.dlq,
                retry_attempts=RETRY_ATTEMPTS,
                max_event_age=MAX_EVENT_AGE,
            ),
        )
        self.landing_rule = self._landing_rule(config, state_machine, raw_bucket) if landing_events else None

    def _landing_rule(
        self, config: PipelineConfig, state_machine: sfn.IStateMachine, raw_bucket: s3.IBucket
    ) -> events.Rule | None:
        readers = {name: ds.source.access().landing_prefix for name, ds in config.datasets.items()}
        datasets = [name for name, prefix in readers.items() if prefix]
        if not datasets:
            return None
        enable_event_bridge(raw_bucket)
        return events.Rule(
            self,
            "LandingRule",
            description="A file dropped into a landing prefix starts a run for the datasets that read landing prefixes",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [raw_bucket.bucket_name]},
                    "object": {"key": [{"prefix": p} for p in dict.fromkeys(readers[d] for d in datasets)]},
                },
            ),
            targets=[
                events_targets.SfnStateMachine(
                    state_machine,
                    input=events.RuleTargetInput.from_object({"datasets": datasets, "landing": landing_trigger()}),
                    dead_letter_queue=self.dlq,
                    retry_attempts=RETRY_ATTEMPTS,
                    max_event_age=MAX_EVENT_AGE,
                )
            ],
        )
