"""`dataplatform run` against AWS: start an execution of the deployed state machine and follow its history."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3
from rich.console import Console

from dataplatform.config import PipelineConfig
from dataplatform.naming import state_machine_name

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def find_state_machine(sfn: Any, name: str) -> str:
    for page in sfn.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"] == name:
                return str(machine["stateMachineArn"])
    raise LookupError(f"state machine '{name}' not found in this account/region: is the stack deployed?")


def describe_event(event: dict[str, Any]) -> str | None:
    """One progress line per state entered/failed; None for events not worth a line."""
    kind = event["type"]
    if kind.endswith("StateEntered"):
        details = event["stateEnteredEventDetails"]
        data = json.loads(details.get("input") or "{}")
        dataset = data.get("dataset") if isinstance(data, dict) else None
        return f"{details['name']}" + (f" [{dataset}]" if dataset else "")
    if kind in ("TaskFailed", "ExecutionFailed", "MapRunFailed"):
        details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
        return f"FAILED {details.get('error', '')}: {str(details.get('cause', ''))[:300]}"
    return None


def follow_aws_run(
    config: PipelineConfig,
    *,
    window: tuple[str, str] | None,
    datasets: list[str] | None,
    sfn: Any = None,
    poll_s: float = 5.0,
    console: Console | None = None,
) -> int:
    console = console or Console()
    sfn = sfn or boto3.client("stepfunctions")
    arn = find_state_machine(sfn, state_machine_name(config.project))
    request: dict[str, Any] = {}
    if window:
        request["window"] = {"start": window[0], "end": window[1]}
    if datasets:
        request["datasets"] = datasets
    # A readable, unique name: the console lists executions by name.
    label = f"{window[0]}_{window[1]}" if window else "default-window"
    name = f"cli-{label}-{uuid.uuid4().hex[:8]}"
    execution = sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(request))["executionArn"]
    console.print(f"started {execution}")
    seen = 0
    while True:
        events: list[dict[str, Any]] = []
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution):
            events.extend(page["events"])
        for event in events[seen:]:
            line = describe_event(event)
            if line:
                console.print(f"  {event['timestamp']:%H:%M:%S}  {line}")
        seen = len(events)
        status = sfn.describe_execution(executionArn=execution)["status"]
        if status in TERMINAL:
            console.print(f"execution {status}")
            return 0 if status == "SUCCEEDED" else 1
        time.sleep(poll_s)
