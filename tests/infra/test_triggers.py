"""Triggers on a bare stack: the schedule with its time zone, retries and DLQ, and the landing-event rule."""

from __future__ import annotations

import pytest
from aws_cdk import Stack
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match, Template

from dataplatform.config import PipelineConfig, parse_config
from infra.storage import Storage
from infra.triggers import Triggers
from tests.infra.conftest import SMALL_PIPELINE, bare_stack, resources


def build(config: PipelineConfig) -> Template:
    stack: Stack = bare_stack()
    storage = Storage(stack, "Storage", config=config)
    machine = sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "P"))
    )
    Triggers(stack, "Triggers", config=config, state_machine=machine, raw_bucket=storage.raw_bucket, key=storage.key)
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def template(config: PipelineConfig) -> Template:
    return build(config)


def test_schedule_time_zone_retry_and_dlq(template: Template, config: PipelineConfig) -> None:
    template.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": "cron(0 4 * * ? *)",
            "ScheduleExpressionTimezone": "Europe/Paris",
            "State": "ENABLED",
            "Target": Match.object_like(
                {
                    "Input": '{"trigger":"schedule"}',  # a scheduled run resolves its default window
                    "DeadLetterConfig": {"Arn": Match.any_value()},
                    "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 7200},
                }
            ),
        },
    )
    template.has_resource_properties("AWS::SQS::Queue", {"KmsMasterKeyId": Match.any_value()})


def test_a_disabled_schedule_is_deployed_disabled() -> None:
    disabled = parse_config(
        SMALL_PIPELINE.replace("timezone: Europe/Paris}", "timezone: Europe/Paris, enabled: false}")
    )
    build(disabled).has_resource_properties("AWS::Scheduler::Schedule", {"State": "DISABLED"})


def test_landing_rule_starts_the_datasets_that_read_landing_prefixes(template: Template) -> None:
    (raw,) = [lid for lid in resources(template, "AWS::S3::Bucket") if lid.startswith("StorageRaw")]
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {"bucket": {"name": [{"Ref": raw}]}, "object": {"key": [{"prefix": "landing/orders/"}]}},
            },
            "Targets": [Match.object_like({"Input": '{"trigger":"landing","datasets":["orders"]}'})],
        },
    )


def test_event_bridge_is_enabled_on_the_raw_bucket_without_a_custom_resource(template: Template) -> None:
    (raw,) = [b for lid, b in resources(template, "AWS::S3::Bucket").items() if lid.startswith("StorageRaw")]
    assert raw["Properties"]["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    assert not resources(template, "Custom::S3BucketNotifications")
    assert not resources(template, "AWS::Lambda::Function")


def test_no_landing_rule_without_landing_datasets() -> None:
    no_landing = parse_config(SMALL_PIPELINE.replace("location: landing/orders", "location: s3://drop/orders/"))
    template = build(no_landing)
    assert not resources(template, "AWS::Events::Rule")
    (raw,) = [b for lid, b in resources(template, "AWS::S3::Bucket").items() if lid.startswith("StorageRaw")]
    assert "NotificationConfiguration" not in raw["Properties"]
