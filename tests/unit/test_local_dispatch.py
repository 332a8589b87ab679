"""The local runner's task dispatch: parameter validation against the real APIs, Glue argument merging."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3
import pytest
from moto import mock_aws

from dataplatform.local import sfn_dispatch
from dataplatform.local.sfn_dispatch import TaskParameterError, validate_request
from dataplatform.local.spark_runner import GlueJobError, _check_argument_names
from dataplatform.local.template import Resolver


def test_requests_are_validated_like_the_real_service() -> None:
    validate_request("glue", "StartJobRun", {"JobName": "retail-standardize-sales", "Arguments": {"--dataset": "x"}})
    with pytest.raises(TaskParameterError, match="JobName"):
        validate_request("glue", "StartJobRun", {"Arguments": {"--dataset": "x"}})
    with pytest.raises(TaskParameterError, match="JobNam"):
        validate_request("glue", "StartJobRun", {"JobName": "j", "JobNam": "typo"})
    with pytest.raises(TaskParameterError, match="QueryString"):
        validate_request("athena", "StartQueryExecution", {"WorkGroup": "retail"})


def test_deployed_default_arguments_are_accepted_and_typos_are_not() -> None:
    # Glue merges the job's DefaultArguments (which carry these, see docs/contracts.md) into every run.
    _check_argument_names(
        {
            "--dataset": "sales",
            "--raw_bucket": "r",
            "--curated_bucket": "c",
            "--curated_database": "retail_curated",
            "--enable-metrics": "",
            "--job-language": "python",
        }
    )
    with pytest.raises(GlueJobError, match="--datset"):
        _check_argument_names({"--datset": "sales"})


def test_template_tokens_resolve_to_local_names() -> None:
    template = {
        "Resources": {
            "Raw": {"Type": "AWS::S3::Bucket", "Properties": {}},
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "retail-resolve-run"}},
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "retail-alerts"}},
        }
    }
    r = Resolver(template)
    assert r.resolve({"Fn::Join": ["", ["s3://", {"Ref": "Raw"}, "/curated/"]]}) == "s3://local-raw/curated/"
    assert (
        r.resolve({"Fn::GetAtt": ["Fn", "Arn"]}) == "arn:aws:lambda:us-east-1:123456789012:function:retail-resolve-run"
    )
    assert r.resolve({"Ref": "Topic"}) == "arn:aws:sns:us-east-1:123456789012:retail-alerts"
    assert r.resolve({"Fn::Sub": "arn:${AWS::Partition}:s3:::${Raw}/x"}) == "arn:aws:s3:::local-raw/x"


class _EchoDispatcher:
    """Stands in for the local runner: records calls, answers like a handler (or raises like one)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def authorize(self, action: str, resource: str) -> None:
        """The state machine role may do everything here (tests/component/test_iam_integrations.py: denials)."""

    def invoke_lambda(self, function_name: str, payload: Any) -> Any:
        self.calls.append((function_name, payload))
        if payload.get("fail"):
            raise ValueError("bad input")
        return {"doubled": payload["n"] * 2, "name": function_name}

    def run_glue_job(self, job_name: str, arguments: dict[str, str]) -> dict[str, Any]:
        raise AssertionError("not used")

    def run_athena_query(self, parameters: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("not used")


def _run(definition: dict[str, Any], execution_input: dict[str, Any]) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    arn = sfn.create_state_machine(
        name=f"probe-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/probe",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name=uuid.uuid4().hex, input=json.dumps(execution_input))
    for _ in range(200):
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError("execution did not finish")


def test_function_arn_tasks_run_the_handler_and_return_its_result_only() -> None:
    """The workflow's Lambda tasks name the function ARN as Resource (payload_response_only): the task result is
    the handler's return value, and a handler exception is a function error Catch can match by class name."""
    function = "arn:aws:lambda:us-east-1:123456789012:function:retail-resolve-run"
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": function,
                "Parameters": {"n.$": "$.n", "fail.$": "$.fail"},
                "ResultPath": "$.result",
                "Catch": [{"ErrorEquals": ["ValueError"], "ResultPath": "$.caught", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    dispatcher = _EchoDispatcher()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn_dispatch.install(dispatcher)
        try:
            ok = _run(definition, {"n": 21, "fail": False})
            failed = _run(definition, {"n": 1, "fail": True})
        finally:
            sfn_dispatch.uninstall()
    assert ok["status"] == "SUCCEEDED", ok
    assert json.loads(ok["output"])["result"] == {"doubled": 42, "name": "retail-resolve-run"}
    assert dispatcher.calls[0] == ("retail-resolve-run", {"n": 21, "fail": False})
    assert failed["status"] == "SUCCEEDED", failed
    caught = json.loads(failed["output"])["caught"]
    assert caught["Error"] == "ValueError" and "bad input" in caught["Cause"]


def test_a_new_platform_starts_with_cold_lambda_containers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Module-level caches of the runtime package (a client bound to an earlier platform's endpoint) are cleared."""
    import functools
    import sys
    import types

    from dataplatform.local.dispatcher import cold_start

    module = types.ModuleType("dataplatform.cold_start_probe")
    calls: list[int] = []

    @functools.lru_cache(maxsize=1)
    def client() -> int:
        calls.append(1)
        return len(calls)

    client.__module__ = module.__name__
    module.client = client  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    assert client() == client() == 1
    cold_start()
    assert client() == 2
