"""The failure path: a failed step is recorded, notified on SNS and audited as FAILED before the run fails.

docs/contracts.md ("Failures") describes what a failed run leaves: the alert message
`{execution, run_id, step, error, cause, message}`, a FAILED audit line per dataset, and the Fail state
`PipelineFailed` (or `ResolveRunFailed` when there is no run yet).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.workflow.tasks import lambda_step

ALL_ERRORS = ["States.ALL"]


class FailurePath:
    """Builds the failure states once; `catch(state, step)` sends a step's failures into them."""

    def __init__(self, scope: Construct, *, project: str, topic: sns.ITopic, write_audit: lambda_.IFunction) -> None:
        self.scope = scope
        notify = tasks.SnsPublish(
            scope,
            "NotifyFailure",
            topic=topic,
            subject=f"{project} pipeline run failed",
            message=sfn.TaskInput.from_object(
                {
                    "execution.$": "$$.Execution.Id",
                    "run_id.$": "$.run.run_id",
                    "step.$": "$.failure.step",
                    "error.$": "$.failure.error",
                    "cause.$": "$.failure.cause",
                    "message.$": "$.failure.message",
                }
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        notify.add_retry(errors=ALL_ERRORS, interval=Duration.seconds(2), max_attempts=3, backoff_rate=2)
        audit_failed = lambda_step(
            scope,
            "WriteAuditFailed",
            write_audit,
            {
                "run_id.$": "$.run.run_id",
                "window.$": "$.run.window",
                "datasets.$": "$.run.dataset_names",
                "status": "FAILED",
                "error": {"step.$": "$.failure.step", "cause.$": "$.failure.cause"},
                "started_at.$": "$$.Execution.StartTime",
                "execution.$": "$$.Execution.Id",
                "owner.$": "$$.Execution.Name",  # releases this execution's (run, dataset) leases
            },
            sfn.JsonPath.DISCARD,
        )
        # One well-known error name for every failed run; the cause names the step, the original error and cause.
        # (A Fail state re-raising a `States.*` name is not portable, so the original goes into the cause.)
        failed = sfn.Fail(scope, "PipelineFailed", error="PipelineFailed", cause_path="$.failure.message")
        # A failed audit write must not hide the original error: it is caught and the run still fails.
        audit_failed.add_catch(failed, errors=ALL_ERRORS, result_path="$.audit_error")
        notify.add_catch(audit_failed, errors=ALL_ERRORS, result_path="$.notify_error")
        notify.next(audit_failed)
        audit_failed.next(failed)
        self._notify = notify

        # resolve_run has no run yet: notify and fail (there is no dataset to write an audit line for).
        notify_resolve = tasks.SnsPublish(
            scope,
            "NotifyResolveFailure",
            topic=topic,
            subject=f"{project} pipeline run could not start",
            message=sfn.TaskInput.from_object(
                {
                    "execution.$": "$$.Execution.Id",
                    "step": "ResolveRun",
                    "error.$": "$.failure.Error",
                    "cause.$": "$.failure.Cause",
                }
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        notify_resolve.add_retry(errors=ALL_ERRORS, interval=Duration.seconds(2), max_attempts=3, backoff_rate=2)
        resolve_failed = sfn.Fail(scope, "ResolveFailed", error="ResolveRunFailed", cause_path="$.failure.Cause")
        notify_resolve.add_catch(resolve_failed, errors=ALL_ERRORS, result_path="$.notify_error")
        notify_resolve.next(resolve_failed)
        self._notify_resolve = notify_resolve

    def catch(self, state: sfn.TaskStateBase | sfn.Map, step: str) -> None:
        """Any failure of `state` becomes `$.failure = {step, error, cause, message}`, then the failure path."""
        record = sfn.Pass(
            self.scope,
            f"Failed{step}",
            parameters={
                "step": step,
                "error.$": "$.caught.Error",
                "cause.$": "$.caught.Cause",
                "message.$": f"States.Format('{step} failed with {{}}: {{}}', $.caught.Error, $.caught.Cause)",
            },
            result_path="$.failure",
        )
        record.next(self._notify)
        state.add_catch(record, errors=ALL_ERRORS, result_path="$.caught")

    def catch_resolve(self, state: sfn.TaskStateBase) -> None:
        """A failed ResolveRun: notify and end in `ResolveRunFailed` (no run, so no audit)."""
        state.add_catch(self._notify_resolve, errors=ALL_ERRORS, result_path="$.failure")
