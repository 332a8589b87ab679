"""The workflow on a bare stack: every Task retries and catches, JSONPath only, phases in order, failure path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from dataplatform.config import PipelineConfig
from infra.analytics import Analytics
from infra.ingestion import Ingestion
from infra.monitoring import AlertTopic
from infra.orchestration import Orchestration
from infra.storage import Storage
from infra.workflow_functions import WorkflowFunctions
from tests.infra.conftest import ACCOUNT, REGION, ROOT, SMALL_KINDS, bare_stack, resources

SQL = {
    "marts/orders_daily.sql": "CREATE OR REPLACE VIEW marts.orders_daily AS\nSELECT day, count(*) AS orders\n"
    "FROM curated.orders GROUP BY day",
    "quality/dq_orders_key.sql": "-- severity: error\nSELECT order_id FROM curated.orders GROUP BY order_id "
    "HAVING count(*) > 1",
    "quality/dq_recent.sql": "-- severity: warn\nSELECT day FROM marts.orders_daily WHERE orders = 0",
}


@pytest.fixture(scope="module")
def template(config: PipelineConfig, config_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Template:
    sql_dir = tmp_path_factory.mktemp("sql")
    for name, text in SQL.items():
        (sql_dir / name).parent.mkdir(exist_ok=True)
        (sql_dir / name).write_text(text + "\n", encoding="utf-8")
    stack = bare_stack()
    storage = Storage(stack, "Storage", config=config)
    assets = {"root": ROOT, "config_file": config_file}
    ingestion = Ingestion(stack, "Ingestion", config=config, storage=storage, **assets)
    functions = WorkflowFunctions(stack, "WorkflowFunctions", config=config, storage=storage, **assets)
    analytics = Analytics(
        stack,
        "Analytics",
        config=config,
        database_names=storage.database_names,
        workgroup_name=storage.workgroup_name,
        curated_bucket_name=storage.curated_bucket.bucket_name,
        sql_dir=sql_dir,
    )
    Orchestration(
        stack,
        "Orchestration",
        config=config,
        functions=functions,
        ingest_functions=ingestion.functions,
        athena=storage.athena_target,
        refresh_steps=analytics.refresh_steps,
        assertion_steps=analytics.assertion_steps,
        alarm_topic=AlertTopic(stack, "Alerts", config=config, key=storage.key).topic,
        encryption_key=storage.key,
    )
    return Template.from_stack(stack)


def _definition(template: Template) -> dict[str, Any]:
    (machine,) = resources(template, "AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    # Tokens (ARNs, bucket names) become their logical id: only the structure matters here.
    return json.loads("".join(p if isinstance(p, str) else _token(p) for p in parts))


def _token(part: dict[str, Any]) -> str:
    ((kind, arg),) = part.items()
    return f"<{arg[0] if kind == 'Fn::GetAtt' else arg}>"


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


def _order(states: dict[str, Any], start: str) -> list[str]:
    order, name = [], start
    while name:
        order.append(name)
        name = states[name].get("Next")
    return order


def test_every_task_has_retry_and_catch(template: Template) -> None:
    tasks = {n: s for n, s in _states(_definition(template)["States"]).items() if s["Type"] == "Task"}
    assert len(tasks) >= 10
    for name, task in tasks.items():
        assert task.get("Retry"), f"{name} has no Retry"
        assert any("States.ALL" in c["ErrorEquals"] for c in task.get("Catch", [])), f"{name} has no catch-all"


def test_lambda_tasks_call_the_pipeline_functions_and_keep_their_whole_result(template: Template) -> None:
    states = _states(_definition(template)["States"])
    function_ids = {
        lid: f["Properties"]["FunctionName"] for lid, f in resources(template, "AWS::Lambda::Function").items()
    }
    called = {
        name: function_ids[s["Resource"].strip("<>")]
        for name, s in states.items()
        if s["Type"] == "Task" and s["Resource"].strip("<>") in function_ids
    }
    assert called == {
        "ResolveRun": "shop-test-resolve-run",
        **{f"Ingest{kind.title()}": f"shop-test-ingest-{kind}" for kind in SMALL_KINDS},
        "CheckQuality": "shop-test-check-quality",
        "CommitState": "shop-test-commit-state",
        "WriteAudit": "shop-test-write-audit",
        "WriteAuditFailed": "shop-test-write-audit",
    }
    for name in called:
        # The function's return value is the task result: no `$.Payload` to unwrap, no keys listed again.
        assert "ResultSelector" not in states[name] and "$.Payload" not in json.dumps(states[name]), name
    assert states["ResolveRun"]["ResultPath"] == "$.run"
    assert states["IngestCsv"]["Parameters"] == {
        "dataset.$": "$.dataset",
        "run_id.$": "$.run_id",
        "window.$": "$.window",
        "ingest_date.$": "$.ingest_date",
        "cursor.$": "$.cursor",
        "owner.$": "$$.Execution.Name",
    }
    # A second execution of the window waits for the lease holder, then fails naming it.
    lease_retry = [r for r in states["IngestCsv"]["Retry"] if r["ErrorEquals"] == ["LeaseHeldError"]]
    assert lease_retry == [
        {"ErrorEquals": ["LeaseHeldError"], "IntervalSeconds": 60, "MaxAttempts": 5, "BackoffRate": 2}
    ]
    assert states["CommitState"]["Parameters"]["owner.$"] == "$$.Execution.Name"
    assert states["WriteAuditFailed"]["Parameters"]["owner.$"] == "$$.Execution.Name"


def test_jsonpath_only_standard_logged_traced(template: Template) -> None:
    definition = _definition(template)
    text = json.dumps(definition)
    assert "JSONata" not in text and "{%" not in text
    assert definition.get("QueryLanguage", "JSONPath") == "JSONPath"
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineName": "shop-test-pipeline",
            "StateMachineType": "STANDARD",
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": Match.object_like({"Level": "ALL", "IncludeExecutionData": True}),
        },
    )
    template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"LogGroupName": "/aws/vendedlogs/states/shop-test-pipeline", "KmsKeyId": Match.any_value()},
    )


def test_phases_in_order_with_one_standardize_map_per_wave(template: Template, config: PipelineConfig) -> None:
    definition = _definition(template)
    states = definition["States"]
    order = _order(states, definition["StartAt"])
    assert config.waves() == [["items", "rates"], ["orders"]]  # orders depends on rates
    assert order == [
        "ResolveRun",
        "Ingest",
        "StandardizeWave1",
        "StandardizeWave2",
        "RefreshQueries",
        "Refresh",
        "AssertionQueries",
        "Assertions",
        "CheckQuality",
        "CommitState",
        "WriteAudit",
        "Summary",
        "Done",
    ]
    for number in (1, 2):
        wave = states[f"StandardizeWave{number}"]
        assert wave["ItemsPath"] == f"$.run.waves[{number - 1}]"
        glue = wave["ItemProcessor"]["States"][f"Standardize{number}"]
        assert glue["Resource"].endswith(":states:::glue:startJobRun.sync")
        assert glue["Parameters"]["JobName.$"] == "States.Format('shop-test-standardize-{}', $.dataset)"
        # Everything else is a default argument of the job (test_standardization.py).
        assert glue["Parameters"]["Arguments"] == {"--run_id.$": "$.run_id", "--manifest_uris.$": "$.manifest_uri"}
        assert set(glue["ResultSelector"]) == {"job_run_id.$", "state.$"}


def test_ingest_loops_on_continue_with_the_returned_cursor(template: Template) -> None:
    ingest = _definition(template)["States"]["Ingest"]["ItemProcessor"]["States"]
    more = ingest["IngestMore"]
    assert more["Choices"] == [{"Variable": "$.result.status", "StringEquals": "continue", "Next": "NextChunk"}]
    assert more["Default"] == "Ingested"
    assert ingest["NextChunk"] == {
        "Type": "Pass",
        "InputPath": "$.result.cursor",
        "ResultPath": "$.cursor",
        "Next": "SourceKind",
    }
    assert ingest["Ingested"]["InputPath"] == "$.result"
    assert {c["StringEquals"] for c in ingest["SourceKind"]["Choices"]} == set(SMALL_KINDS)
    assert ingest["SourceKind"]["Default"] == "UnknownKind"


def test_analytics_items_are_the_rendered_sql_files(template: Template) -> None:
    states = _definition(template)["States"]
    (view,) = states["RefreshQueries"]["Result"]
    assert view["name"] == "orders_daily" and view["database"] == "shop_test_marts"
    assert view["sql"].startswith("CREATE OR REPLACE VIEW shop_test_marts.orders_daily AS")
    assert {(a["name"], a["severity"]) for a in states["AssertionQueries"]["Result"]} == {
        ("dq_orders_key", "error"),
        ("dq_recent", "warn"),
    }
    assert states["Refresh"]["MaxConcurrency"] == 1  # views build on each other
    assert states["Assertions"]["ItemProcessor"]["States"]["AssertionRef"]["Parameters"] == {
        "name.$": "$.name",
        "severity.$": "$.severity",
        "query_execution_id.$": "$.query.query_execution_id",
    }
    assert states["CheckQuality"]["Parameters"] == {"run_id.$": "$.run.run_id", "query_execution_ids.$": "$.dq"}


def test_failures_notify_and_audit(template: Template) -> None:
    states = _definition(template)["States"]
    steps = ("Ingest", "StandardizeWave1", "StandardizeWave2", "Refresh", "Assertions", "CheckQuality")
    for name in (*steps, "CommitState", "WriteAudit"):
        (catch,) = states[name]["Catch"]
        record = states[catch["Next"]]
        assert record["Parameters"]["step"] == name
        assert record["Next"] == "NotifyFailure"
    assert states["NotifyFailure"]["Resource"].endswith(":states:::sns:publish")
    assert states["NotifyFailure"]["Next"] == "WriteAuditFailed"
    assert states["WriteAuditFailed"]["Parameters"]["status"] == "FAILED"
    assert states["WriteAuditFailed"]["Next"] == "PipelineFailed"
    assert states["PipelineFailed"]["Type"] == "Fail"
    (resolve_catch,) = states["ResolveRun"]["Catch"]
    assert resolve_catch["Next"] == "NotifyResolveFailure"
    assert states["NotifyResolveFailure"]["Next"] == "ResolveFailed"


def test_map_iterations_fail_with_a_fixed_error_naming_the_item(template: Template) -> None:
    states = _states(_definition(template)["States"])
    for prefix, item, error in (
        ("Ingest", "$.dataset", "IngestFailed"),
        ("Standardize2", "$.dataset", "StandardizeFailed"),
        ("Refresh", "$.name", "RefreshFailed"),
        ("Assertion", "$.name", "AssertionFailed"),
    ):
        cause = states[f"{prefix}ItemCause"]
        assert cause["Parameters"]["cause.$"].startswith(f"States.Format('{{}}: {{}}: {{}}', {item},")
        assert states[cause["Next"]] == {"Type": "Fail", "Error": error, "CausePath": "$.cause"}


def test_sync_outputs_keep_only_scalars(template: Template) -> None:
    for name, state in _states(_definition(template)["States"]).items():
        if state["Type"] == "Task" and state["Resource"].endswith(".sync"):
            assert state.get("ResultSelector"), f"{name} keeps the whole .sync output"


def test_role_may_start_exactly_the_standardize_jobs(template: Template) -> None:
    resources_granted = {
        resource
        for p in resources(template, "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "glue:StartJobRun" in s["Action"]
        for resource in s["Resource"]
    }
    jobs = f"arn:aws:glue:{REGION}:{ACCOUNT}:job/"
    assert f"{jobs}shop-test-standardize-*" in resources_granted
    # aws-cdk-lib also derives an ARN from the JobName expression; it matches no job name.
    assert resources_granted - {f"{jobs}shop-test-standardize-*"} == {
        f"{jobs}States.Format('shop-test-standardize-{{}}', $.dataset)"
    }


def test_definition_passes_cloudformation_validation_without_acknowledgments(template: Template) -> None:
    """`cdk synth` validates the template; a literal `${...}` outside Fn::Sub (E1029) fails synth and deploy."""
    (machine,) = resources(template, "AWS::StepFunctions::StateMachine").values()
    assert "${" not in json.dumps(machine["Properties"]["DefinitionString"])
    assert "cfn-lint" not in machine.get("Metadata", {})


def test_a_run_lease_outlives_no_execution(template: Template) -> None:
    """After its manifest a (run, dataset) lease lasts RUN_TTL: as long as an execution may run, so a running
    execution never loses its raw data to another, and a stopped one blocks its window no longer than that."""
    from dataplatform.lease import RUN_TTL

    assert _definition(template)["TimeoutSeconds"] == int(RUN_TTL.total_seconds())
