"""The whole workflow, phase by phase (DESIGN.md, "Workflow"):

resolve run -> ingest -> standardize (one Map per wave; each dataset staged on the run's Iceberg branch) ->
staged views -> staged marts -> assertions over them -> check quality -> publish -> refresh views/marts ->
commit state -> write audit -> Succeed. Every task has Retry and Catch; a failure anywhere takes the failure path
(failure_path.py), and before Publish nothing of the run is visible. Payloads carry URIs and counts, never data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from dataplatform.config import PipelineConfig
from infra.analytics import AthenaStep
from infra.workflow.analytics_phase import refresh_phase
from infra.workflow.failure_path import FailurePath
from infra.workflow.ingest_phase import ingest_phase
from infra.workflow.publish_phase import audit_phase, publish_step
from infra.workflow.standardize_phase import standardize_phase
from infra.workflow.tasks import AthenaTarget, lambda_step
from infra.workflow_functions import WorkflowFunctions


def pipeline_definition(
    scope: Construct,
    *,
    config: PipelineConfig,
    functions: WorkflowFunctions,
    ingest_functions: Mapping[str, lambda_.IFunction],
    refresh_steps: Sequence[AthenaStep],
    staged_refresh_steps: Sequence[AthenaStep],
    assertion_steps: Sequence[AthenaStep],
    extra_tables: Sequence[str],
    publish_job_name: str,
    athena: AthenaTarget,
    alert_topic: sns.ITopic,
) -> sfn.IChainable:
    failures = FailurePath(scope, project=config.project, topic=alert_topic, write_audit=functions.write_audit)

    # `$.run` = resolve_run's output: run_id, window, ingest_date, datasets, dataset_names, waves.
    resolve = lambda_step(
        scope,
        "ResolveRun",
        functions.resolve_run,
        {"input.$": "$$.Execution.Input", "started_at.$": "$$.Execution.StartTime"},
        "$.run",
    )
    failures.catch_resolve(resolve)

    chain = sfn.Chain.start(resolve).next(
        ingest_phase(scope, config=config, ingest_functions=ingest_functions, failures=failures)
    )
    phases = [
        *standardize_phase(scope, config=config, failures=failures),
        *audit_phase(
            scope,
            prepare_audit=functions.prepare_audit,
            check_quality=functions.check_quality,
            staged_refresh_steps=staged_refresh_steps,
            assertion_steps=assertion_steps,
            extra_tables=extra_tables,
            athena=athena,
            failures=failures,
        ),
        publish_step(scope, job_name=publish_job_name, failures=failures),
        *refresh_phase(scope, steps=refresh_steps, athena=athena, failures=failures),
    ]
    for state in phases:
        chain = chain.next(state)
    return chain.next(_finish(scope, functions, failures))


def _finish(scope: Construct, functions: WorkflowFunctions, failures: FailurePath) -> sfn.IChainable:
    """Commit the watermarks, write the SUCCEEDED audit, and end with a summary of the run."""
    commit = lambda_step(
        scope,
        "CommitState",
        functions.commit_state,
        {"run_id.$": "$.run.run_id", "datasets.$": "$.run.dataset_names", "owner.$": "$$.Execution.Name"},
        "$.commit",
    )
    failures.catch(commit, "CommitState")
    audit = lambda_step(
        scope,
        "WriteAudit",
        functions.write_audit,
        {
            "run_id.$": "$.run.run_id",
            "window.$": "$.run.window",
            "datasets.$": "$.run.dataset_names",
            "status": "SUCCEEDED",
            "started_at.$": "$$.Execution.StartTime",
            "execution.$": "$$.Execution.Id",
        },
        sfn.JsonPath.DISCARD,
    )
    failures.catch(audit, "WriteAudit")
    summary = sfn.Pass(
        scope,
        "Summary",
        parameters={
            "run_id.$": "$.run.run_id",
            "window.$": "$.run.window",
            "datasets.$": "$.run.dataset_names",
            "ingest.$": "$.ingest",
            "committed.$": "$.commit.committed",
        },
    )
    return sfn.Chain.start(commit).next(audit).next(summary).next(sfn.Succeed(scope, "Done"))
