"""Write-audit-publish (DESIGN.md, "Workflow"): after the standardize waves staged every dataset on the run's Iceberg
branch, the audit reads exactly that and the publish makes it visible.

`audit_phase`: `PrepareAudit` (the views of `<project>_staged_curated`: each staged table `FOR VERSION AS OF` its
staged snapshot, docs/contracts.md) -> `StagedViews` -> `StagedRefresh` (the marts in `<project>_staged_marts`)
-> `Assertions` over the staged databases -> `CheckQuality`. `publish_step`: the `<project>-publish` Glue job
moves main of every staged table to the run's branch head. A failure anywhere before it publishes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.analytics import AthenaStep
from infra.workflow.analytics_phase import assertion_phase, refresh_phase
from infra.workflow.failure_path import ALL_ERRORS, FailurePath
from infra.workflow.standardize_phase import GLUE_TRANSIENT_ERRORS
from infra.workflow.tasks import AthenaTarget, athena_step, item_failure, lambda_step


def audit_phase(
    scope: Construct,
    *,
    prepare_audit: lambda_.IFunction,
    check_quality: lambda_.IFunction,
    staged_refresh_steps: Sequence[AthenaStep],
    assertion_steps: Sequence[AthenaStep],
    extra_tables: Sequence[str],
    athena: AthenaTarget,
    failures: FailurePath,
) -> list[sfn.IChainable]:
    """The staged views, the staged marts, the assertions over them and their verdict (none without assertions)."""
    if not assertion_steps:
        return []
    prepare = lambda_step(
        scope,
        "PrepareAudit",
        prepare_audit,
        {"run_id.$": "$.run.run_id", "datasets.$": "$.run.dataset_names", "extra_tables": list(extra_tables)},
        "$.staging",
    )
    failures.catch(prepare, "PrepareAudit")
    views = sfn.Map(
        scope, "StagedViews", items_path="$.staging.statements", max_concurrency=4, result_path=sfn.JsonPath.DISCARD
    )
    view = athena_step(scope, "StagedViewQuery", athena)
    view.add_catch(
        item_failure(scope, "StagedViews", "$.name", "StagedViewFailed"), errors=ALL_ERRORS, result_path="$.caught"
    )
    views.item_processor(view)
    failures.catch(views, "StagedViews")
    return [
        prepare,
        views,
        *refresh_phase(scope, steps=staged_refresh_steps, athena=athena, failures=failures, name="StagedRefresh"),
        *assertion_phase(scope, steps=assertion_steps, athena=athena, check_quality=check_quality, failures=failures),
    ]


def publish_step(scope: Construct, *, job_name: str, failures: FailurePath) -> tasks.GlueStartJobRun:
    """`Publish`: the publish job for the run's datasets; it fails, publishing nothing, if main moved meanwhile."""
    publish = tasks.GlueStartJobRun(
        scope,
        "Publish",
        glue_job_name=job_name,
        integration_pattern=sfn.IntegrationPattern.RUN_JOB,
        arguments=sfn.TaskInput.from_object(
            {"--run_id.$": "$.run.run_id", "--datasets.$": "States.JsonToString($.run.dataset_names)"}
        ),
        result_selector={"job_run_id.$": "$.Id", "state.$": "$.JobRunState"},
        result_path="$.publish",
    )
    publish.add_retry(errors=GLUE_TRANSIENT_ERRORS, interval=Duration.seconds(30), max_attempts=3, backoff_rate=2)
    failures.catch(publish, "Publish")
    return publish
