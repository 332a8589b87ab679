"""Triggers on a bare stack: the schedule with its time zone, retries and DLQ, and the landing-event rule."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match, Template

from dataplatform.config import PipelineConfig, parse_config
from dataplatform.layout import Lake
from dataplatform.workflow.run import resolve_run
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
        },
    )


def test_a_landing_event_becomes_a_run_of_its_own(template: Template, config: PipelineConfig) -> None:
    """The rule's input transformer, applied as EventBridge applies it to an Object Created event, gives a run
    request whose run_id names the event (dataplatform/workflow/run.py), not the window's shared run."""
    ((target,),) = [r["Properties"]["Targets"] for r in resources(template, "AWS::Events::Rule").values()]
    transformer = target["InputTransformer"]
    event = {
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "time": "2024-02-01T14:00:07Z",
        "detail": {"bucket": {"name": "raw"}, "object": {"key": "landing/orders/afternoon.csv"}},
    }
    text = transformer["InputTemplate"]
    for name, path in transformer["InputPathsMap"].items():
        value: Any = event
        for part in path.removeprefix("$.").split("."):
            value = value[part]
        text = text.replace(f"<{name}>", json.dumps(value))
    request = json.loads(text)
    assert request["datasets"] == ["orders"]
    assert request["landing"] == {
        "event_id": event["id"],
        "time": event["time"],
        "key": event["detail"]["object"]["key"],
    }
    lake = Lake(raw_bucket="r", curated_bucket="c")
    run = resolve_run(config, lake, request, datetime(2024, 2, 1, 14, 0, 9, tzinfo=UTC))
    assert run["run_id"].endswith(f"-landing-20240201T140007Z-{hashlib.sha256(event['id'].encode()).hexdigest()[:6]}")


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
