"""The whole workflow, locally: full run, the same window again, an incremental run, a failure and its recovery.

The tests of this module share one platform and its first full run (the `first_run` fixture); each test takes the
lake as it finds it and compares against what it saw before acting, so they pass in any order, or alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from dataplatform.local.apis import Faults
from dataplatform.local.execution import RunResult
from dataplatform.local.iam.report import Summary
from dataplatform.local.platform import LocalPlatform
from dataplatform.local.sample_data import add_transactions, extra_sales_file
from dataplatform.naming import function_name
from tests.e2e.support import (
    WINDOW,
    check_full_run,
    curated_snapshot,
    state_objects,
)

pytestmark = pytest.mark.e2e
DATASETS = ["exchange_rates", "customers", "products", "transactions", "sales"]
DELIBERATE_READERS = ("retail-ingest-csv", "retail-standardize-sales")
"""The roles test_a_grant_to_another_datasets_prefix... makes read another dataset's raw prefix, to be denied."""


@dataclass(frozen=True)
class FirstRun:
    result: RunResult
    curated: dict[str, Any]
    iam: Summary
    checked_roles: frozenset[str]


@pytest.fixture(scope="module")
def first_run(platform: LocalPlatform) -> FirstRun:
    result = platform.run(window=WINDOW)
    checked = frozenset(role for role, *_ in platform.iam.authority.recorder.tally)
    return FirstRun(result, curated_snapshot(platform), platform.iam.summary(), checked)


def _assert_conservation(result_datasets: dict[str, dict]) -> None:
    for name, d in result_datasets.items():
        assert d["raw_rows"] == d["curated_rows"] + d["quarantined_rows"] + d["duplicate_rows"], (name, d)


def test_full_run_succeeds_with_conservation_and_correct_marts(platform: LocalPlatform, first_run: FirstRun) -> None:
    result = first_run.result
    assert sorted(result.datasets) == sorted(DATASETS)
    check_full_run(platform, result)
    assert all(d["status"] == "SUCCEEDED" for d in result.datasets.values())

    audit = platform.client("s3").list_objects_v2(Bucket=platform.lake.curated_bucket, Prefix="audit/")
    assert len([o for o in audit.get("Contents", []) if f"run_id={result.run_id}/" in o["Key"]]) == len(DATASETS)
    _assert_every_task_ran_as_its_role_with_nothing_denied(platform, first_run)


def _assert_every_task_ran_as_its_role_with_nothing_denied(platform: LocalPlatform, first_run: FirstRun) -> None:
    summary = first_run.iam
    assert (summary.denied, summary.unmapped) == (0, []), summary.denials
    store = platform.iam.store
    checked_roles = first_run.checked_roles
    task_roles = {*store.job_roles.values(), *store.state_machine_roles.values()}
    # Every pipeline function the runner dispatches; resolve_run makes no AWS call, the HTTP API is not a task.
    not_tasks = {function_name(platform.config.project, folder) for folder in ("resolve_run", "api")}
    task_roles |= {store.function_roles[name] for name in platform.function_folders if name not in not_tasks}
    assert task_roles <= checked_roles, task_roles - checked_roles


def test_a_grant_to_another_datasets_prefix_does_not_let_a_role_read_it(
    platform: LocalPlatform, first_run: FirstRun
) -> None:
    from botocore.exceptions import ClientError

    s3, raw = platform.client("s3"), platform.lake.raw_bucket
    customers = s3.list_objects_v2(Bucket=raw, Prefix="raw/customers/")["Contents"][0]["Key"]
    csv_reader, job_reader = DELIBERATE_READERS
    for task in (platform.iam.as_function(csv_reader), platform.iam.as_job(job_reader)):
        with task, pytest.raises(ClientError) as denied:
            s3.get_object(Bucket=raw, Key=customers)
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
        assert f'perform: s3:GetObject on resource: "arn:aws:s3:::{raw}/{customers}"' in str(denied.value)
    with platform.iam.as_function(csv_reader):
        assert s3.list_objects_v2(Bucket=raw, Prefix="raw/sales/")["KeyCount"] > 0  # its own prefix
    denials = {(d["role"], d["action"], d["resource"]) for d in platform.iam.summary().denials}
    denied_reads = {(role, action, resource) for role, action, resource in denials if resource.endswith(customers)}
    assert len(denied_reads) == 2 and {action for _, action, _ in denied_reads} == {"s3:GetObject"}
    _assert_only_deliberate_denials(platform)


def _assert_only_deliberate_denials(platform: LocalPlatform) -> None:
    """Nothing denied in any run: the only denials are this module's deliberate reads of raw/customers/."""
    store, raw = platform.iam.store, platform.lake.raw_bucket
    deliberate_roles = {store.function_roles[DELIBERATE_READERS[0]], store.job_roles[DELIBERATE_READERS[1]]}
    summary = platform.iam.summary()
    assert summary.unmapped == []
    for denial in summary.denials:
        assert denial["role"] in deliberate_roles and denial["action"] == "s3:GetObject", denial
        assert denial["resource"].startswith(f"arn:aws:s3:::{raw}/raw/customers/"), denial


def test_same_window_again_changes_nothing(platform: LocalPlatform, first_run: FirstRun) -> None:
    before_state, before_curated = state_objects(platform), curated_snapshot(platform)
    result = platform.run(window=WINDOW)
    assert result.status == "SUCCEEDED", result.cause
    assert result.run_id == first_run.result.run_id  # deterministic: same window and selection
    assert curated_snapshot(platform) == before_curated
    assert state_objects(platform).keys() == before_state.keys()


def test_incremental_run_with_a_tiny_time_budget_processes_only_new_data(
    platform: LocalPlatform, first_run: FirstRun
) -> None:
    """Incremental and continuation together: new Postgres rows and three new CSV drops, ingested by Lambdas that
    are always short of time, so the ingest loop continues several times; the result is exactly the new data."""
    before = curated_snapshot(platform)
    new_ids = add_transactions(platform.postgres_uri, 7)
    drops = [extra_sales_file(i, first_id=900_000 + 100 * i, rows=12) for i in (1, 2, 3)]
    for name, body in drops:
        platform.put_landing_file(name, body)
    platform.options.lambda_timeout_s = 0.001  # every call stops after its first chunk
    try:
        result = platform.run(window=("2024-04-01", "2024-04-02"))
    finally:
        platform.options.lambda_timeout_s = 900.0
    assert result.status == "SUCCEEDED", result.cause
    continuations = [e for e in platform.events if e.phase == "continue" and e.dataset == "sales"]
    assert len(continuations) >= 2, "expected the ingest loop to call the CSV Lambda several times"
    _assert_conservation(result.datasets)
    assert result.datasets["transactions"]["raw_rows"] == len(new_ids)
    assert result.datasets["sales"]["raw_rows"] == 36  # only the three new files
    assert result.datasets["products"]["raw_rows"] == len(platform.sample.products)  # full load by design
    assert result.datasets["customers"]["raw_rows"] == 0  # nothing updated since the committed watermark
    after = curated_snapshot(platform)
    assert len(after["transactions"]) == len(before["transactions"]) + len(new_ids)
    assert len(after["sales"]) == len(before["sales"]) + 36
    assert after["customers"] == before["customers"]
    assert set(before["exchange_rates"]) <= set(after["exchange_rates"])  # plus the new window's rates


def test_failure_notifies_audits_and_leaves_state_and_raw(platform: LocalPlatform, first_run: FirstRun) -> None:
    platform.published_notifications()  # drain
    state_before, curated_before = state_objects(platform), curated_snapshot(platform)
    platform.customer_api.faults = Faults(fail_times=10_000, fail_status=503)
    add_transactions(platform.postgres_uri, 3)
    result = platform.run(window=("2024-04-03", "2024-04-03"))
    assert result.status == "FAILED"
    assert result.error == "PipelineFailed" and "customers" in (result.cause or "")

    (message,) = [json.loads(n["Message"]) for n in platform.published_notifications()]
    assert message["run_id"] == result.run_id and message["step"] == "Ingest"
    audit = platform.client("s3")
    key = next(
        o["Key"]
        for o in audit.list_objects_v2(Bucket=platform.lake.curated_bucket, Prefix="audit/")["Contents"]
        if f"run_id={result.run_id}/customers.json" in o["Key"]
    )
    record = json.loads(audit.get_object(Bucket=platform.lake.curated_bucket, Key=key)["Body"].read())
    assert record["status"] == "FAILED" and record["error_step"] == "Ingest" and "503" in record["error"]
    # The failure path ran under its own roles: the state machine's publish, write_audit's put.
    recorder, store = platform.iam.authority.recorder, platform.iam.store
    topic = next(iter(store.topic_keys))
    assert recorder.decisions(platform.iam.state_machine_role, "sns:Publish") == {topic: "Allow"}
    audit_puts = recorder.decisions(store.function_roles["retail-write-audit"], "s3:PutObject")
    assert audit_puts.get(f"arn:aws:s3:::{platform.lake.curated_bucket}/{key}") == "Allow"
    assert record["watermark_committed"] is None
    assert state_objects(platform) == state_before  # nothing advanced
    assert curated_snapshot(platform) == curated_before
    # The datasets that finished ingesting keep their raw data and manifest.
    transactions = platform.read_step(result.run_id, "transactions", "ingest")
    assert transactions is not None and transactions["rows"] == 3
    # The failure path released the execution's leases, so the window can start again at once (it does below).
    lease = platform.read_step(result.run_id, "transactions", "lease")
    assert lease is not None and lease["owner"] == result.execution_arn.rsplit(":", 1)[1] and lease["released_at"]
    assert record["state_committed"] is False

    platform.customer_api.faults = Faults()
    recovered = platform.run(window=("2024-04-03", "2024-04-03"))
    assert recovered.status == "SUCCEEDED", recovered.cause
    assert recovered.run_id == result.run_id
    assert recovered.datasets["transactions"]["raw_rows"] == 3  # the same raw, not extracted twice
    _assert_conservation(recovered.datasets)
    # What a clean run over this window gives: the previous contents plus exactly the 3 new transactions.
    before, after = curated_before, curated_snapshot(platform)
    assert len(after["transactions"]) == len(before["transactions"]) + 3
    assert set(before["transactions"]) <= set(after["transactions"])
    assert after["customers"] == before["customers"] and after["sales"] == before["sales"]
    _assert_only_deliberate_denials(platform)
