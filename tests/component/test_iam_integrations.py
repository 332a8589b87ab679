"""Integrations the local runner runs itself (Lambda invoke, Glue job run) are authorized as the state machine's
role; a denial is `Lambda.AccessDeniedException` / `Glue.AccessDeniedException`, which a Catch handles as on AWS."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from dataplatform.local import sfn_dispatch
from dataplatform.local.iam.enforcer import AccessDenied
from dataplatform.local.platform import free_port

DENIED = {"lambda:InvokeFunction", "glue:StartJobRun"}


class DenyingDispatcher:
    def __init__(self) -> None:
        self.ran: list[str] = []

    def authorize(self, action: str, resource: str) -> None:
        if action in DENIED:
            session = "arn:aws:sts::123456789012:assumed-role/sm/s"
            message = f'User: {session} is not authorized to perform: {action} on resource: "{resource}"'
            raise AccessDenied(
                {
                    "Error": {"Code": "AccessDeniedException", "Message": message},
                    "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": "r"},
                },
                action,
            )

    def invoke_lambda(self, function_name: str, payload: Any) -> Any:
        self.ran.append(function_name)
        return {}

    def run_glue_job(self, job_name: str, arguments: dict[str, str]) -> dict[str, Any]:
        self.ran.append(job_name)
        return {"Id": "jr", "JobRunState": "SUCCEEDED"}

    def run_athena_query(self, parameters: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("not used")


@pytest.fixture
def sfn() -> Iterator[tuple[Any, DenyingDispatcher]]:
    from moto.core.config import default_user_config
    from moto.server import ThreadedMotoServer

    port = free_port()
    previous = {k: os.environ.get(k) for k in ("MOTO_PORT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update(MOTO_PORT=str(port), AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local")
    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    dispatcher = DenyingDispatcher()
    sfn_dispatch.install(dispatcher)
    try:
        yield (
            boto3.client("stepfunctions", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1"),
            dispatcher,
        )
    finally:
        sfn_dispatch.uninstall()
        server.stop()
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def caught(error: str) -> list[dict[str, Any]]:
    return [{"ErrorEquals": [error], "ResultPath": "$.error", "Next": "Caught"}]


@pytest.mark.parametrize(
    ("resource", "parameters", "error"),
    [
        (
            "arn:aws:states:::lambda:invoke",
            {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:f", "Payload": {}},
            "Lambda.AccessDeniedException",
        ),
        (
            "arn:aws:states:::glue:startJobRun.sync",
            {"JobName": "retail-standardize-sales"},
            "Glue.AccessDeniedException",
        ),
    ],
)
def test_a_denied_integration_fails_with_the_services_error_and_is_caught(
    sfn: tuple[Any, DenyingDispatcher], resource: str, parameters: dict[str, Any], error: str
) -> None:
    client, dispatcher = sfn
    definition = {
        "StartAt": "Task",
        "States": {
            "Task": {
                "Type": "Task",
                "Resource": resource,
                "Parameters": parameters,
                "Catch": caught(error),
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    arn = client.create_state_machine(
        name=f"sm-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/sm",
    )["stateMachineArn"]
    execution = client.start_execution(stateMachineArn=arn, name=uuid.uuid4().hex)["executionArn"]
    for _ in range(200):
        described = client.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            break
        time.sleep(0.05)
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["error"]["Error"] == error
    assert "is not authorized to perform" in output["error"]["Cause"]
    assert dispatcher.ran == []  # nothing ran
