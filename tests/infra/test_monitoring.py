"""Alarms and the dashboard on a bare stack: executions, Glue job failures, Lambda errors and throttles."""

from __future__ import annotations

import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match, Template

from dataplatform.config import PipelineConfig
from infra.monitoring import AlertTopic, Monitoring
from infra.storage import Storage
from tests.infra.conftest import bare_stack, resources

FUNCTIONS = ("resolve_run", "ingest_csv")


@pytest.fixture(scope="module")
def template(config: PipelineConfig) -> Template:
    stack = bare_stack()
    storage = Storage(stack, "Storage", config=config)
    alerts = AlertTopic(stack, "Alerts", config=config, key=storage.key)
    machine = sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "P"))
    )
    Monitoring(
        stack,
        "Monitoring",
        config=config,
        topic=alerts.topic,
        state_machine=machine,
        functions={f: lambda_.Function.from_function_name(stack, f, f"shop-test-{f}") for f in FUNCTIONS},
        glue_job_names=["shop-test-standardize-orders"],
    )
    return Template.from_stack(stack)


def test_alarms_on_executions_glue_and_every_function(template: Template) -> None:
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    metrics = sorted((a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms.values())
    assert ("AWS/States", "ExecutionsFailed") in metrics
    assert ("AWS/States", "ExecutionsTimedOut") in metrics
    assert ("AWS/Events", "TriggeredRules") in metrics
    assert metrics.count(("AWS/Lambda", "Errors")) == len(FUNCTIONS)
    assert metrics.count(("AWS/Lambda", "Throttles")) == len(FUNCTIONS)
    for alarm in alarms.values():
        assert alarm["Properties"]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["Properties"]["Threshold"] == 1
        assert alarm["Properties"]["AlarmActions"], "alarm without an SNS action"
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)


def test_glue_job_failures_are_forwarded_to_the_topic(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": Match.object_like(
                {
                    "source": ["aws.glue"],
                    "detail": {"jobName": ["shop-test-standardize-orders"], "state": ["FAILED", "TIMEOUT", "ERROR"]},
                }
            )
        },
    )


def test_alert_topic_is_encrypted(template: Template) -> None:
    template.has_resource_properties(
        "AWS::SNS::Topic", {"TopicName": "shop-test-pipeline-alerts", "KmsMasterKeyId": Match.any_value()}
    )
