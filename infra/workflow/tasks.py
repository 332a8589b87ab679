"""The task and failure states every phase builds its states from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Duration, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

# Errors worth retrying: service hiccups, throttling, Lambda's own transient failures. Application errors
# (a bad row, a QualityError) are not retried; they go straight to the Catch.
TRANSIENT_LAMBDA_ERRORS = [
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]


def lambda_step(
    scope: Construct, state_id: str, function: lambda_.IFunction, payload: Mapping[str, object], result_path: str
) -> tasks.LambdaInvoke:
    """Invoke a pipeline function with `payload` (its contract input); its whole result goes to `result_path`.

    `payload_response_only` makes the function's return value the task result (no `$.Payload` wrapper), so
    the state machine never lists the keys of a function's output: docs/contracts.md is their one place.
    """
    task = tasks.LambdaInvoke(
        scope,
        state_id,
        lambda_function=function,
        payload=sfn.TaskInput.from_object(dict(payload)),
        payload_response_only=True,
        result_path=result_path,
        retry_on_service_exceptions=False,  # replaced by the explicit Retry below
    )
    task.add_retry(
        errors=TRANSIENT_LAMBDA_ERRORS,
        interval=Duration.seconds(2),
        max_attempts=3,
        backoff_rate=2,
        jitter_strategy=sfn.JitterType.FULL,
    )
    return task


@dataclass(frozen=True)
class AthenaTarget:
    """Where the workflow's queries run: the workgroup and its (enforced) result location."""

    workgroup: str
    results_bucket: s3.IBucket
    results_prefix: str
    """Without slashes at either end."""

    @property
    def output_location(self) -> str:
        return f"s3://{self.results_bucket.bucket_name}/{self.results_prefix}/"


def athena_step(scope: Construct, state_id: str, athena: AthenaTarget) -> sfn.CustomState:
    """Run the item's `$.sql` in `$.database` to completion (`athena:startQueryExecution.sync`); keeps the query
    execution id and state.

    A CustomState rather than aws-cdk-lib's AthenaStartQueryExecution: that construct always grants
    s3:CreateBucket/ListBucket/GetBucketLocation/GetObject on Resource '*'. The stack grants exactly what the
    queries read and write instead (Storage.grant_athena_query, the data prefixes, Analytics' Glue statements).
    """
    partition = Stack.of(scope).partition
    task = sfn.CustomState(
        scope,
        state_id,
        state_json={
            "Type": "Task",
            "Resource": f"arn:{partition}:states:::athena:startQueryExecution.sync",
            "Parameters": {
                "QueryString.$": "$.sql",
                "QueryExecutionContext": {"Database.$": "$.database"},
                "WorkGroup": athena.workgroup,
                "ResultConfiguration": {"OutputLocation": athena.output_location},
            },
            # Only scalars: QueryExecution has datetimes.
            "ResultSelector": {
                "query_execution_id.$": "$.QueryExecution.QueryExecutionId",
                "state.$": "$.QueryExecution.Status.State",
            },
            "ResultPath": "$.query",
        },
    )
    task.add_retry(
        errors=["Athena.TooManyRequestsException", "Athena.InternalServerException"],
        interval=Duration.seconds(5),
        max_attempts=3,
        backoff_rate=2,
    )
    return task


def item_failure(scope: Construct, prefix: str, item_path: str, error: str) -> sfn.Pass:
    """Inside a Map: fail the iteration with a fixed error whose cause names the item and the original error.

    Catch with `result_path="$.caught"` into the returned state.
    """
    describe = sfn.Pass(
        scope,
        f"{prefix}ItemCause",
        parameters={"cause.$": f"States.Format('{{}}: {{}}: {{}}', {item_path}, $.caught.Error, $.caught.Cause)"},
    )
    describe.next(sfn.Fail(scope, f"{prefix}ItemFailed", error=error, cause_path="$.cause"))
    return describe
