"""Ingest phase: a Map over the run's datasets, a Choice on the source kind, and a loop while a call returns
`continue` (docs/contracts.md, "Continuation")."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from dataplatform.config import PipelineConfig
from dataplatform.lease import LeaseHeldError
from infra.workflow.failure_path import ALL_ERRORS, FailurePath
from infra.workflow.tasks import item_failure, lambda_step

LEASE_HELD_ERROR = LeaseHeldError.__name__


def ingest_phase(
    scope: Construct,
    *,
    config: PipelineConfig,
    ingest_functions: Mapping[str, lambda_.IFunction],
    failures: FailurePath,
) -> sfn.Map:
    """`Ingest`: every selected dataset in parallel; `$.ingest` holds each dataset's final ingest result."""
    ingest_map = sfn.Map(
        scope,
        "Ingest",
        items_path="$.run.datasets",
        item_selector={
            "dataset.$": "$$.Map.Item.Value.dataset",
            "kind.$": "$$.Map.Item.Value.kind",
            "run_id.$": "$.run.run_id",
            "window.$": "$.run.window",
            "ingest_date.$": "$.run.ingest_date",
            # CDK drops literal nulls, so the initial null cursor comes from resolve_run's item.
            "cursor.$": "$$.Map.Item.Value.cursor",
        },
        result_path="$.ingest",
    )
    kind_choice = sfn.Choice(scope, "SourceKind")
    dataset_cause = item_failure(scope, "Ingest", "$.dataset", "IngestFailed")
    # Call again with the cursor the last call returned; the rest of the item stays as it is.
    next_chunk = sfn.Pass(scope, "NextChunk", input_path="$.result.cursor", result_path="$.cursor")
    next_chunk.next(kind_choice)
    ingested = sfn.Pass(scope, "Ingested", input_path="$.result")
    again = sfn.Choice(scope, "IngestMore")
    again.when(sfn.Condition.string_equals("$.result.status", "continue"), next_chunk)
    again.otherwise(ingested)

    for kind in sorted({ds.source.kind for ds in config.datasets.values()}):
        if kind not in ingest_functions:
            raise ValueError(f"pipeline.yaml has {kind} datasets but no ingest function for kind '{kind}'")
        task = lambda_step(
            scope,
            f"Ingest{kind.title()}",
            ingest_functions[kind],
            {
                "dataset.$": "$.dataset",
                "run_id.$": "$.run_id",
                "window.$": "$.window",
                "ingest_date.$": "$.ingest_date",
                "cursor.$": "$.cursor",
                # The execution holds the (run, dataset) lease while it writes raw (dataplatform/lease.py).
                "owner.$": "$$.Execution.Name",
            },
            "$.result",
        )
        # Another execution of the same window holds the lease: wait for it (about half an hour in all), then fail
        # with its name in the cause.
        task.add_retry(errors=[LEASE_HELD_ERROR], interval=Duration.seconds(60), max_attempts=5, backoff_rate=2)
        task.add_catch(dataset_cause, errors=ALL_ERRORS, result_path="$.caught")
        task.next(again)
        kind_choice.when(sfn.Condition.string_equals("$.kind", kind), task)
    kind_choice.otherwise(
        sfn.Fail(
            scope, "UnknownKind", error="UnknownSourceKind", cause="dataset has a source kind with no ingest function"
        )
    )
    ingest_map.item_processor(kind_choice)
    failures.catch(ingest_map, "Ingest")
    return ingest_map
