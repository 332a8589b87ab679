"""Standardize phase: one Map per dependency wave (`PipelineConfig.waves`), a Glue `startJobRun.sync` per dataset.

Each job carries its dataset, roots and config as default arguments (infra/standardization.py); a run passes
only `--run_id` and `--manifest_uris`.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from dataplatform.config import PipelineConfig
from dataplatform.naming import standardize_job_name
from infra.workflow.failure import ALL_ERRORS, FailurePath
from infra.workflow.tasks import item_failure

GLUE_TRANSIENT_ERRORS = [
    "Glue.ConcurrentRunsExceededException",
    "Glue.ThrottlingException",
    "Glue.InternalServiceException",
]


def standardize_phase(scope: Construct, *, config: PipelineConfig, failures: FailurePath) -> list[sfn.Map]:
    """`StandardizeWave<n>` Maps, in order; wave n runs the datasets of `$.run.waves[n-1]` (resolve_run)."""
    job_name = sfn.JsonPath.format(standardize_job_name(config.project, "{}"), sfn.JsonPath.string_at("$.dataset"))
    waves: list[sfn.Map] = []
    for number in range(1, len(config.waves()) + 1):
        wave = sfn.Map(
            scope,
            f"StandardizeWave{number}",
            items_path=f"$.run.waves[{number - 1}]",
            item_selector={
                "dataset.$": "$$.Map.Item.Value.dataset",
                "manifest_uri.$": "$$.Map.Item.Value.manifest_uri",
                "run_id.$": "$.run.run_id",
            },
            result_path=sfn.JsonPath.DISCARD,
        )
        glue = tasks.GlueStartJobRun(
            scope,
            f"Standardize{number}",
            glue_job_name=job_name,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            arguments=sfn.TaskInput.from_object({"--run_id.$": "$.run_id", "--manifest_uris.$": "$.manifest_uri"}),
            # Only scalars: the full JobRun has datetimes (and is large).
            result_selector={"job_run_id.$": "$.Id", "state.$": "$.JobRunState"},
            result_path="$.job",
        )
        glue.add_retry(errors=GLUE_TRANSIENT_ERRORS, interval=Duration.seconds(30), max_attempts=3, backoff_rate=2)
        glue.add_catch(
            item_failure(scope, f"Standardize{number}", "$.dataset", "StandardizeFailed"),
            errors=ALL_ERRORS,
            result_path="$.caught",
        )
        wave.item_processor(glue)
        failures.catch(wave, f"StandardizeWave{number}")
        waves.append(wave)
    return waves
