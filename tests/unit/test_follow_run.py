"""`dataplatform run` against AWS: start the deployed state machine and follow it to its end (moto executes it)."""

from __future__ import annotations

import io
import json

import boto3
from moto import mock_aws
from rich.console import Console

from dataplatform.config import load_config
from dataplatform.workflow.follow import follow_aws_run

CONFIG = load_config("pipeline.yaml")


@mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
def test_follow_starts_the_project_state_machine_and_reports_the_outcome() -> None:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    definition = {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.datasets[0]", "StringEquals": "sales", "Next": "Ok"}],
                "Default": "Bad",
            },
            "Ok": {"Type": "Succeed"},
            "Bad": {"Type": "Fail", "Error": "Unexpected", "Cause": "wrong input"},
        },
    }
    sfn.create_state_machine(
        name="retail-pipeline", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/x"
    )
    out = io.StringIO()
    code = follow_aws_run(
        CONFIG,
        window=("2024-01-01", "2024-01-02"),
        datasets=["sales"],
        sfn=sfn,
        poll_s=0.05,
        console=Console(file=out, width=200),
    )
    assert code == 0
    assert "execution SUCCEEDED" in out.getvalue() and "Check" in out.getvalue()
    (execution,) = sfn.list_executions(
        stateMachineArn=sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    )["executions"]
    started = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    assert started == {"window": {"start": "2024-01-01", "end": "2024-01-02"}, "datasets": ["sales"]}

    out = io.StringIO()
    assert (
        follow_aws_run(CONFIG, window=None, datasets=["products"], sfn=sfn, poll_s=0.05, console=Console(file=out)) == 1
    )
    assert "FAILED" in out.getvalue()
