"""resolve_run, check_quality and write_audit logic (moto in-process for S3/Athena)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.athena.models import QueryResults, athena_backends

from dataplatform.config import load_config
from dataplatform.layout import Lake
from dataplatform.workflow.audit import write_audit
from dataplatform.workflow.quality import QualityError, check_quality
from dataplatform.workflow.run import Window, resolve_run

CONFIG = load_config("pipeline.yaml")
LAKE = Lake(raw_bucket="raw", curated_bucket="cur")


def test_default_window_is_previous_day_in_schedule_time_zone() -> None:
    # 23:30 UTC on Jan 9 is already Jan 10 in Berlin: the previous local day is Jan 9.
    run = resolve_run(CONFIG, LAKE, {}, datetime(2024, 1, 9, 23, 30, tzinfo=UTC))
    assert run["window"] == {"start": "2024-01-09", "end": "2024-01-09"}
    run = resolve_run(CONFIG, LAKE, {}, datetime(2024, 1, 9, 22, 30, tzinfo=UTC))
    assert run["window"] == {"start": "2024-01-08", "end": "2024-01-08"}


def test_run_id_is_deterministic_and_depends_on_window_and_selection() -> None:
    at = datetime(2024, 3, 1, tzinfo=UTC)
    window = {"start": "2024-01-01", "end": "2024-01-31"}
    a = resolve_run(CONFIG, LAKE, {"window": window}, at)
    b = resolve_run(CONFIG, LAKE, {"window": window}, datetime(2025, 1, 1, tzinfo=UTC))
    c = resolve_run(CONFIG, LAKE, {"window": window, "datasets": ["sales"]}, at)
    d = resolve_run(CONFIG, LAKE, {"window": {"start": "2024-01-01", "end": "2024-01-30"}}, at)
    assert a["run_id"] == b["run_id"]
    assert len({a["run_id"], c["run_id"], d["run_id"]}) == 3
    assert resolve_run(CONFIG, LAKE, {"run_id": "manual-1"}, at)["run_id"] == "manual-1"


def test_waves_contain_only_selected_datasets_with_their_manifest() -> None:
    run = resolve_run(
        CONFIG,
        LAKE,
        {"window": {"start": "2024-01-01", "end": "2024-01-02"}, "datasets": ["sales", "exchange_rates"]},
        datetime(2024, 3, 1, tzinfo=UTC),
    )
    assert run["dataset_names"] == ["exchange_rates", "sales"]
    assert [[i["dataset"] for i in w] for w in run["waves"]] == [["exchange_rates"], ["sales"]]
    assert run["waves"][1][0]["manifest_uri"] == LAKE.manifest_uri(
        "sales", Window.parse("2024-01-01:2024-01-02").end, run["run_id"]
    )
    assert run["datasets"][0] == {"dataset": "exchange_rates", "kind": "rest", "cursor": None}


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"datasets": ["nope"]}, "unknown dataset"),
        ({"window": {"start": "2024-02-01", "end": "2024-01-01"}}, "after its end"),
        ({"run_id": "bad id!"}, "run_id"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_requests_name_the_problem(request_: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_run(CONFIG, LAKE, request_, datetime(2024, 3, 1, tzinfo=UTC))


class CountingAthena:
    """A boto3 Athena client that counts GetQueryResults calls and the rows they return."""

    def __init__(self, client: Any) -> None:
        self.client, self.calls, self.rows_read = client, 0, 0

    def get_query_results(self, **kwargs: Any) -> Any:
        self.calls += 1
        page = self.client.get_query_results(**kwargs)
        self.rows_read += len(page["ResultSet"]["Rows"])
        return page

    def get_paginator(self, name: str) -> Any:
        outer = self

        class Paginator:
            def paginate(self, **kwargs: Any) -> Any:
                for page in outer.client.get_paginator(name).paginate(**kwargs):
                    outer.calls += 1
                    outer.rows_read += len(page["ResultSet"]["Rows"])
                    yield page

        return Paginator()


def _result(backend: Any, athena: Any, columns: list[str], rows: list[list[str]]) -> str:
    qid = athena.start_query_execution(QueryString="select x", WorkGroup="primary")["QueryExecutionId"]
    header = {"Data": [{"VarCharValue": c} for c in columns]}
    backend.query_results[qid] = QueryResults(
        rows=[header] + [{"Data": [{"VarCharValue": v} for v in row]} for row in rows],
        column_info=[{"Name": c, "Type": "varchar"} for c in columns],
    )
    return qid


@mock_aws
def test_check_quality_counts_violations_and_fails_on_error_severity() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="cur")
    athena = boto3.client("athena", region_name="us-east-1")
    backend = athena_backends["123456789012"]["us-east-1"]
    ids = [_result(backend, athena, ["violations"], [[str(n)]]) for n in (0, 2, 3)]
    refs = [
        {"name": "clean", "severity": "error", "query_execution_id": ids[0]},
        {"name": "late", "severity": "warn", "query_execution_id": ids[1]},
    ]
    verdict = check_quality(athena, s3, LAKE, "r1", refs)
    assert verdict["errors"] == 0 and verdict["warnings"] == 1
    assert [r["violations"] for r in verdict["results"]] == [0, 2]

    refs.append({"name": "negative_amounts", "severity": "error", "query_execution_id": ids[2]})
    with pytest.raises(QualityError, match=r"negative_amounts \(3 rows\)"):
        check_quality(athena, s3, LAKE, "r1", refs)
    recorded = json.loads(s3.get_object(Bucket="cur", Key="runs/r1/_run/quality.json")["Body"].read())
    assert recorded["errors"] == 1


@mock_aws
@pytest.mark.faults
def test_check_quality_reads_one_value_however_many_rows_violate(fault: Any) -> None:
    """A warning with 5,000 violating rows must not page through them (a Lambda would time out at millions)."""
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="cur")
    client = boto3.client("athena", region_name="us-east-1")
    qid = _result(athena_backends["123456789012"]["us-east-1"], client, ["violations"], [["5000"]])
    athena = CountingAthena(client)
    verdict = check_quality(athena, s3, LAKE, "r1", [{"name": "ri", "severity": "warn", "query_execution_id": qid}])
    assert verdict["results"][0]["violations"] == 5000
    assert (athena.calls, athena.rows_read) == (1, 2)  # the header and the count
    fault.bad_input("quality: a warning with thousands of violating rows")


@mock_aws
def test_check_quality_refuses_a_result_that_is_not_a_count() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="cur")
    client = boto3.client("athena", region_name="us-east-1")
    qid = _result(athena_backends["123456789012"]["us-east-1"], client, ["customer_id"], [["1"], ["2"]])
    with pytest.raises(ValueError, match=r"assertion ri: expected one row with the column 'violations'"):
        check_quality(client, s3, LAKE, "r1", [{"name": "ri", "severity": "warn", "query_execution_id": qid}])


@mock_aws
def test_write_audit_one_line_per_dataset_with_counts_and_error() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    for b in ("raw", "cur"):
        s3.create_bucket(Bucket=b)
    manifest_uri = "s3://raw/raw/sales/ingest_date=2024-01-01/run_id=r1/_manifest.json"
    s3.put_object(
        Bucket="raw", Key=manifest_uri[len("s3://raw/") :], Body=json.dumps({"watermark": {"previous": "w0"}})
    )
    s3.put_object(
        Bucket="cur",
        Key="runs/r1/sales/ingest.json",
        Body=json.dumps({"rows": 10, "bytes": 99, "manifest_uri": manifest_uri, "rejected": 1}),
    )
    s3.put_object(
        Bucket="cur",
        Key="runs/r1/sales/standardize.json",
        Body=json.dumps({"curated_rows": 7, "quarantined_rows": 2, "duplicate_rows": 1}),
    )
    started = datetime(2024, 1, 2, 3, 0, tzinfo=UTC)
    uris = write_audit(
        s3,
        LAKE,
        run_id="r1",
        datasets=["sales", "customers"],
        window={"start": "2024-01-01", "end": "2024-01-01"},
        status="FAILED",
        started_at=started,
        error={"step": "Ingest", "cause": "customers: HTTP 503"},
        finished_at=datetime(2024, 1, 2, 3, 1, tzinfo=UTC),
    )
    assert uris == [
        "s3://cur/audit/run_date=2024-01-02/run_id=r1/sales.json",
        "s3://cur/audit/run_date=2024-01-02/run_id=r1/customers.json",
    ]
    body = s3.get_object(Bucket="cur", Key="audit/run_date=2024-01-02/run_id=r1/sales.json")["Body"].read().decode()
    assert body.endswith("\n") and body.count("\n") == 1
    sales = json.loads(body)
    assert sales["raw_rows"] == 10 and sales["curated_rows"] == 7 and sales["quarantined_rows"] == 2
    assert sales["rejected_files"] == 1  # a CSV file moved to the rejected prefix shows in the audit
    assert sales["watermark_previous"] == "w0" and sales["watermark_committed"] is None
    assert sales["error_step"] == "Ingest" and "503" in sales["error"] and sales["duration_s"] == 60.0
    customers = json.loads(
        s3.get_object(Bucket="cur", Key="audit/run_date=2024-01-02/run_id=r1/customers.json")["Body"].read()
    )
    assert customers["raw_rows"] is None and customers["status"] == "FAILED"


def test_every_audit_field_is_a_column_of_audit_runs() -> None:
    from dataplatform.workflow import audit

    ddl = (Path(audit.__file__).parents[1] / "athena" / "audit_runs.sql").read_text()
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="cur")
        record = audit.audit_record(
            s3,
            LAKE,
            run_id="r1",
            dataset="sales",
            window={"start": "2024-01-01", "end": "2024-01-01"},
            status="SUCCEEDED",
            started_at=datetime(2024, 1, 2, tzinfo=UTC),
            finished_at=datetime(2024, 1, 2, tzinfo=UTC),
            error=None,
        )
    missing = [k for k in record if f"  {k} " not in ddl]
    assert missing == []
