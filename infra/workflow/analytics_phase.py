"""Analytics phase: refresh views and marts in order, run the data-quality assertions, check their results.

The statements are the rendered sql/ files (infra/analytics.py); each becomes one Map item
(`AthenaStep.state_item`) that an Athena `startQueryExecution.sync` task runs. The same refresh runs twice per
run: over the staged databases before the assertions (`StagedRefresh`), over the published tables after the
publish (`Refresh`).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.analytics import AthenaStep
from infra.workflow.failure_path import ALL_ERRORS, FailurePath
from infra.workflow.tasks import AthenaTarget, athena_step, item_failure, lambda_step


def refresh_phase(
    scope: Construct, *, steps: Sequence[AthenaStep], athena: AthenaTarget, failures: FailurePath, name: str = "Refresh"
) -> list[sfn.IChainable]:
    """`<name>Queries` then `<name>`: the DDL and CREATE OR REPLACE VIEW statements, one at a time."""
    if not steps:
        return []
    queries = sfn.Pass(
        scope,
        f"{name}Queries",
        result=sfn.Result.from_array([s.state_item() for s in steps]),
        result_path="$.refresh",
    )
    refresh_map = sfn.Map(
        scope,
        name,
        items_path="$.refresh",
        max_concurrency=1,  # views build on each other: keep the given order
        result_path=sfn.JsonPath.DISCARD,
    )
    refresh = athena_step(scope, f"{name}Query", athena)
    refresh.add_catch(item_failure(scope, name, "$.name", f"{name}Failed"), errors=ALL_ERRORS, result_path="$.caught")
    refresh_map.item_processor(refresh)
    failures.catch(refresh_map, name)
    return [queries, refresh_map]


def assertion_phase(
    scope: Construct,
    *,
    steps: Sequence[AthenaStep],
    athena: AthenaTarget,
    check_quality: lambda_.IFunction,
    failures: FailurePath,
) -> list[sfn.IChainable]:
    """`AssertionQueries`, `Assertions` (in parallel), then `CheckQuality`, which fails the run on an error."""
    if not steps:
        return []
    queries = sfn.Pass(
        scope,
        "AssertionQueries",
        result=sfn.Result.from_array([s.state_item() for s in steps]),
        result_path="$.dq",
    )
    dq_map = sfn.Map(scope, "Assertions", items_path="$.dq", max_concurrency=4, result_path="$.dq")
    assertion = athena_step(scope, "AssertionQuery", athena)
    assertion.add_catch(
        item_failure(scope, "Assertion", "$.name", "AssertionFailed"), errors=ALL_ERRORS, result_path="$.caught"
    )
    # What check_quality reads per assertion (docs/contracts.md).
    assertion.next(
        sfn.Pass(
            scope,
            "AssertionRef",
            parameters={
                "name.$": "$.name",
                "severity.$": "$.severity",
                "query_execution_id.$": "$.query.query_execution_id",
            },
        )
    )
    dq_map.item_processor(assertion)
    failures.catch(dq_map, "Assertions")
    check = lambda_step(
        scope,
        "CheckQuality",
        check_quality,
        {"run_id.$": "$.run.run_id", "query_execution_ids.$": "$.dq"},
        "$.quality",
    )
    failures.catch(check, "CheckQuality")
    return [queries, dq_map, check]
