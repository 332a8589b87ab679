"""Route the service tasks of moto's Step Functions interpreter to local implementations (local runner only).

moto 5.2 interprets a definition with `execute_state_machine=True`, but without Docker its Lambda `invoke` only
echoes the payload, and Glue/Athena `.sync` integrations do not run anything. Both Lambda task styles (a function
ARN as `Resource`, and `arn:aws:states:::lambda:invoke`) call `lambda_eval_utils.
execute_lambda_function_integration`, which we swap for one that runs the real handler. For Glue and Athena the
interpreter builds one task object per Task state through `state_task_service_for(service_name)` (imported by
name into `state_task_factory`), so we swap that factory for one that returns subclasses whose
`_eval_service_task` (and `.sync` resolver) call our dispatcher. Everything else (Retry, Catch, ResultSelector,
Map, history events) stays moto's. The production definition is not changed: see docs/local-runner.md.

Parameters are validated against botocore's service model before dispatch, so a task that the real
service would reject (unknown parameter, missing JobName, wrong type) fails here too.
"""

from __future__ import annotations

import json
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import botocore.session
from botocore.exceptions import ClientError, ParamValidationError
from botocore.validate import ParamValidator
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils, state_task_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from dataplatform.local.template import ACCOUNT, REGION


class TaskDispatcher(Protocol):
    """What the local runner provides for each service integration."""

    def invoke_lambda(self, function_name: str, payload: Any) -> Any:
        """Run the real handler in-process; raise to signal a function error."""

    def run_glue_job(self, job_name: str, arguments: dict[str, str]) -> dict[str, Any]:
        """Run the job to completion; return a GetJobRun-shaped dict with scalar values (JobRunState, Id, ...)."""

    def run_athena_query(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """Run a StartQueryExecution request to completion; return a GetQueryExecution `QueryExecution` dict."""

    def authorize(self, action: str, resource: str) -> None:
        """Raise a botocore ClientError (AccessDeniedException) if the state machine's role may not do this."""


class TaskParameterError(Exception):
    """The task's parameters would be rejected by the real service."""


_botocore = botocore.session.get_session()
_validator = ParamValidator()


def validate_request(service: str, operation: str, parameters: dict[str, Any]) -> None:
    """Validate like the real API would: botocore's model of the operation's input shape."""
    model = _botocore.get_service_model(service).operation_model(operation)
    report = _validator.validate(parameters, model.input_shape)
    if report.has_errors():
        raise TaskParameterError(f"{service}:{operation}: {ParamValidationError(report=report.generate_report())}")


def _function_error_payload(exc: BaseException) -> str:
    # The shape Lambda returns for an unhandled exception; Retry/Catch match on errorType.
    return json.dumps(
        {
            "errorType": type(exc).__name__,
            "errorMessage": str(exc),
            "stackTrace": traceback.format_tb(exc.__traceback__)[-5:],
        }
    )


def _task_failed(task: Any, env: Any, cause: str) -> FailureEventException:
    error = StatesErrorNameType.StatesTaskFailed.to_name()
    return FailureEventException(
        FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(
                taskFailedEventDetails=TaskFailedEventDetails(
                    error=error,
                    cause=cause,
                    resource=task._get_sfn_resource(),
                    resourceType=task._get_sfn_resource_type(),
                )
            ),
        )
    )


@dataclass
class _Installed:
    dispatcher: TaskDispatcher | None = None
    original: Callable[..., Any] | None = None
    original_lambda: Callable[..., Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


_STATE = _Installed()


def _dispatcher() -> TaskDispatcher:
    if _STATE.dispatcher is None:
        raise RuntimeError("no local task dispatcher installed")
    return _STATE.dispatcher


def invoke_lambda_locally(env: Any, parameters: dict[str, Any], region: str, state_credentials: Any) -> None:
    """Stands in for `lambda_eval_utils.execute_lambda_function_integration`: run the real handler in-process.

    Used by both Lambda task styles: a function ARN as `Resource` (`StateTaskLambda`, the result is the
    function's return value) and `arn:aws:states:::lambda:invoke` (the result is the Invoke response).
    """
    params = dict(parameters)
    payload_bytes = params.get("Payload") or b"{}"
    validate_request("lambda", "Invoke", params)
    function_name = str(params["FunctionName"]).split(":function:")[-1].split(":")[0]
    # Before the try: a denied invoke is Lambda.AccessDeniedException, not a function error.
    _dispatcher().authorize("lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}")
    try:
        result = _dispatcher().invoke_lambda(function_name, json.loads(payload_bytes))
    except Exception as exc:
        raise lambda_eval_utils.LambdaFunctionErrorException("Unhandled", _function_error_payload(exc)) from exc
    # Round-trip through JSON like the real service, so non-JSON results fail here rather than on AWS.
    env.stack.append({"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": json.loads(json.dumps(result))})


class _LocalSyncTask(StateTaskServiceCallback):
    """The work ran to completion in `_eval_service_task`; `.sync` just returns (or raises) its final result.

    moto's generic `_eval_sync` also starts a waitForTaskToken listener thread per task; nothing ever sends
    a token for these tasks, so we resolve directly instead.
    """

    ERROR_PREFIX = ""

    def _from_error(self, env, ex):  # type: ignore[no-untyped-def]
        # A service error (AccessDeniedException) is `<Service>.<code>` as on AWS, so Catch sees it: not States.Runtime.
        if isinstance(ex, ClientError):
            error = f"{self.ERROR_PREFIX}.{ex.response['Error']['Code']}"
            return FailureEvent(
                env=env,
                error_name=CustomErrorName(error),
                event_type=HistoryEventType.TaskFailed,
                event_details=EventDetails(
                    taskFailedEventDetails=TaskFailedEventDetails(
                        error=error,
                        cause=ex.response["Error"]["Message"],
                        resource=self._get_sfn_resource(),
                        resourceType=self._get_sfn_resource_type(),
                    )
                ),
            )
        return super()._from_error(env, ex)

    def _eval_sync(self, env, sync_resolver, timeout_seconds, callback_endpoint, heartbeat_endpoint):  # type: ignore[no-untyped-def]
        return sync_resolver()


class LocalGlueTask(_LocalSyncTask):
    """`arn:aws:states:::glue:startJobRun(.sync)`: run the job with the local Spark runner."""

    ERROR_PREFIX = "Glue"

    def __init__(self) -> None:
        super().__init__(supported_integration_patterns={ResourceCondition.Sync, ResourceCondition.WaitForTaskToken})

    def _get_supported_parameters(self) -> set[str] | None:
        return {"JobName", "Arguments", "Timeout", "WorkerType", "NumberOfWorkers", "JobRunQueuingEnabled"}

    def _eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials) -> None:  # type: ignore[no-untyped-def]
        if self._get_boto_service_action() != "start_job_run":
            raise TaskParameterError(f"glue:{self.resource.api_action} is not dispatched locally")
        validate_request("glue", "StartJobRun", normalised_parameters)
        job_name = normalised_parameters["JobName"]
        _dispatcher().authorize("glue:StartJobRun", f"arn:aws:glue:{REGION}:{ACCOUNT}:job/{job_name}")
        run = _dispatcher().run_glue_job(
            normalised_parameters["JobName"], dict(normalised_parameters.get("Arguments") or {})
        )
        self._job_run = {**run, "JobName": normalised_parameters["JobName"]}
        env.stack.append({"JobRunId": run["Id"], "JobName": normalised_parameters["JobName"]})

    def _build_sync_resolver(self, env, resource_runtime_part, normalised_parameters, state_credentials):  # type: ignore[no-untyped-def]
        env.stack.pop()
        job_run = self._job_run

        def resolve() -> dict[str, Any]:
            if job_run["JobRunState"] != "SUCCEEDED":
                # Same error and cause shape as Step Functions: States.TaskFailed with the JobRun as JSON.
                raise _task_failed(self, env, json.dumps(job_run))
            return job_run

        return resolve


class LocalAthenaTask(_LocalSyncTask):
    """`arn:aws:states:::athena:startQueryExecution(.sync)`: run the SQL on the local Athena engine."""

    ERROR_PREFIX = "Athena"

    def __init__(self) -> None:
        super().__init__(supported_integration_patterns={ResourceCondition.Sync, ResourceCondition.WaitForTaskToken})

    def _get_supported_parameters(self) -> set[str] | None:
        return {
            "QueryString",
            "ClientRequestToken",
            "QueryExecutionContext",
            "ResultConfiguration",
            "WorkGroup",
            "ExecutionParameters",
            "ResultReuseConfiguration",
        }

    def _eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials) -> None:  # type: ignore[no-untyped-def]
        if self._get_boto_service_action() != "start_query_execution":
            raise TaskParameterError(f"athena:{self.resource.api_action} is not dispatched locally")
        validate_request("athena", "StartQueryExecution", normalised_parameters)
        self._query_execution = _dispatcher().run_athena_query(dict(normalised_parameters))
        env.stack.append({"QueryExecutionId": self._query_execution["QueryExecutionId"]})

    def _build_sync_resolver(self, env, resource_runtime_part, normalised_parameters, state_credentials):  # type: ignore[no-untyped-def]
        env.stack.pop()
        execution = self._query_execution

        def resolve() -> dict[str, Any]:
            if execution["Status"]["State"] != "SUCCEEDED":
                raise _task_failed(self, env, json.dumps(execution))
            return {"QueryExecution": execution}

        return resolve


_LOCAL_TASKS: dict[str, type] = {"glue": LocalGlueTask, "athena": LocalAthenaTask}


def _local_state_task_service_for(service_name: str) -> Any:
    local = _LOCAL_TASKS.get(service_name)
    if local is not None:
        return local()
    assert _STATE.original is not None
    return _STATE.original(service_name)


def install(dispatcher: TaskDispatcher) -> None:
    """Route lambda/glue/athena tasks of every execution in this process to `dispatcher`."""
    with _STATE.lock:
        if _STATE.original is None:
            _STATE.original = state_task_service_factory.state_task_service_for
            _STATE.original_lambda = lambda_eval_utils.execute_lambda_function_integration
        _STATE.dispatcher = dispatcher
        state_task_factory.state_task_service_for = _local_state_task_service_for
        lambda_eval_utils.execute_lambda_function_integration = invoke_lambda_locally


def uninstall() -> None:
    with _STATE.lock:
        if _STATE.original is not None:
            state_task_factory.state_task_service_for = _STATE.original
        if _STATE.original_lambda is not None:
            lambda_eval_utils.execute_lambda_function_integration = _STATE.original_lambda
        _STATE.dispatcher = None
