"""Fine-grained assertions on the workflow template: every Task retries and catches, JSONPath only, schedule, alarms."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from dataplatform.config import load_config
from tests.infra.conftest import ROOT, Synth


@pytest.fixture(scope="module")
def template(synth: Synth) -> Template:
    """The real app's template (session fixture in conftest: sample pipeline.yaml, cdk-nag passing)."""
    return synth.template


def _definition(template: Template) -> dict[str, Any]:
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    # Tokens (ARNs, bucket names) become placeholders: only the structure matters here.
    return json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts))


def _states(states: dict[str, Any]) -> dict[str, Any]:
    """All states, including those nested in Map/Parallel processors."""
    found: dict[str, Any] = {}
    for name, state in states.items():
        found[name] = state
        if state["Type"] == "Map":
            found.update(_states(state["ItemProcessor"]["States"]))
        for branch in state.get("Branches", []):
            found.update(_states(branch["States"]))
    return found


def test_every_task_has_retry_and_catch(template: Template) -> None:
    states = _states(_definition(template)["States"])
    tasks = {n: s for n, s in states.items() if s["Type"] == "Task"}
    assert len(tasks) >= 10
    for name, task in tasks.items():
        assert task.get("Retry"), f"{name} has no Retry"
        assert any("States.ALL" in c["ErrorEquals"] for c in task.get("Catch", [])), f"{name} has no catch-all"


def test_lambda_tasks_target_real_pipeline_functions(template: Template) -> None:
    states = _states(_definition(template)["States"])
    lambda_tasks = [s for s in states.values() if s["Type"] == "Task" and s["Resource"].endswith(":lambda:invoke")]
    assert len(lambda_tasks) == 8  # resolve, 3 ingest kinds, check_quality, commit, audit, audit (failed path)
    functions = template.find_resources("AWS::Lambda::Function")
    names = {f["Properties"].get("FunctionName") for f in functions.values()}
    for folder in ("resolve-run", "check-quality", "commit-state", "write-audit", "ingest-csv"):
        assert f"retail-{folder}" in names


def test_jsonpath_only_standard_logged_traced(template: Template) -> None:
    definition = _definition(template)
    text = json.dumps(definition)
    assert "JSONata" not in text and "{%" not in text
    assert definition.get("QueryLanguage", "JSONPath") == "JSONPath"
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineType": "STANDARD",
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": Match.object_like({"Level": "ALL", "IncludeExecutionData": True}),
        },
    )
    template.has_resource_properties("AWS::Logs::LogGroup", {"KmsKeyId": Match.any_value()})


def test_steps_in_order_with_waves(template: Template) -> None:
    states = _definition(template)["States"]
    order = []
    name = _definition(template)["StartAt"]
    while name:
        order.append(name)
        name = states[name].get("Next")
    config = load_config(ROOT / "pipeline.yaml")
    waves = [f"StandardizeWave{i + 1}" for i in range(len(config.waves()))]
    assert order[:2] == ["ResolveRun", "Ingest"]
    assert order[2 : 2 + len(waves)] == waves
    assert order.index("Refresh") < order.index("Assertions") < order.index("CheckQuality")
    assert order[-4:] == ["CommitState", "WriteAudit", "Summary", "Done"]
    # exchange_rates is standardized in an earlier wave than the datasets converting through it
    assert config.waves()[0] == ["customers", "exchange_rates", "products"]
    glue = states["StandardizeWave1"]["ItemProcessor"]["States"]["Standardize1"]
    assert glue["Resource"].endswith(":states:::glue:startJobRun.sync")
    assert glue["Parameters"]["JobName.$"] == "States.Format('retail-standardize-{}', $.dataset)"
    assert set(glue["Parameters"]["Arguments"]) == {
        "--dataset.$",
        "--run_id.$",
        "--manifest_uris.$",
        "--curated_root",
        "--quarantine_root",
        "--config_uri",
    }
    assert set(glue["ResultSelector"]) == {"job_run_id.$", "state.$"}


def test_ingest_loops_on_continue(template: Template) -> None:
    ingest = _definition(template)["States"]["Ingest"]["ItemProcessor"]["States"]
    more = ingest["IngestMore"]
    assert more["Choices"] == [{"Variable": "$.result.status", "StringEquals": "continue", "Next": "NextChunk"}]
    assert ingest["NextChunk"]["Next"] == "SourceKind"
    assert {c["StringEquals"] for c in ingest["SourceKind"]["Choices"]} == {"csv", "rest", "postgres"}


def test_failures_notify_and_audit(template: Template) -> None:
    states = _definition(template)["States"]
    for name in ("Ingest", "StandardizeWave1", "Refresh", "Assertions", "CheckQuality", "CommitState", "WriteAudit"):
        (catch,) = states[name]["Catch"]
        record = states[catch["Next"]]
        assert record["Parameters"]["step"] == name
        assert record["Next"] == "NotifyFailure"
    assert states["NotifyFailure"]["Resource"].endswith(":states:::sns:publish")
    assert states["NotifyFailure"]["Next"] == "WriteAuditFailed"
    assert states["WriteAuditFailed"]["Parameters"]["Payload"]["status"] == "FAILED"
    assert states["WriteAuditFailed"]["Next"] == "PipelineFailed"
    assert states["PipelineFailed"]["Type"] == "Fail"


def test_sync_outputs_keep_only_scalars(template: Template) -> None:
    states = _states(_definition(template)["States"])
    for name, state in states.items():
        if state["Type"] == "Task" and state["Resource"].endswith(".sync"):
            assert state.get("ResultSelector"), f"{name} keeps the whole .sync output"


def test_schedule_time_zone_retry_and_dlq(template: Template) -> None:
    config = load_config(ROOT / "pipeline.yaml")
    template.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": f"cron({config.schedule.cron})",
            "ScheduleExpressionTimezone": config.schedule.timezone,
            "Target": Match.object_like(
                {
                    "DeadLetterConfig": {"Arn": Match.any_value()},
                    "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 7200},
                }
            ),
        },
    )
    template.has_resource_properties("AWS::SQS::Queue", {"KmsMasterKeyId": Match.any_value()})


def test_landing_rule_starts_csv_datasets_only(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": Match.object_like({"detail-type": ["Object Created"]}),
            "Targets": [Match.object_like({"Input": json.dumps({"datasets": ["sales"]}, separators=(",", ":"))})],
        },
    )


def test_alarms(template: Template) -> None:
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    metrics = sorted((a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms.values())
    assert ("AWS/States", "ExecutionsFailed") in metrics
    assert ("AWS/States", "ExecutionsTimedOut") in metrics
    assert ("AWS/Events", "TriggeredRules") in metrics
    # 4 workflow + 3 ingest functions, errors and throttles each
    assert metrics.count(("AWS/Lambda", "Errors")) == 7
    assert metrics.count(("AWS/Lambda", "Throttles")) == 7
    for alarm in alarms.values():
        assert alarm["Properties"]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["Properties"]["Threshold"] == 1
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"], "alarm without an SNS action"
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": Match.object_like(
                {"source": ["aws.glue"], "detail": Match.object_like({"state": ["FAILED", "TIMEOUT", "ERROR"]})}
            )
        },
    )
