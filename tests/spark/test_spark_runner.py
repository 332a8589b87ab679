"""The local Glue runner: the jobs' own code on the local session, S3A and Iceberg against moto; nothing staged on
disk. Standardize stages a run on its branch; the publish job makes it current."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pyspark.sql import SparkSession

from dataplatform.local.spark_runner import GlueJobError, run_glue_job
from dataplatform.transform.iceberg import table_identifier
from tests.spark import fixtures as fx
from tests.spark.conftest import spark_config_text
from tests.spark.iceberg_lake import AwsClients
from tests.spark.rawdata import CURATED_BUCKET, RAW_BUCKET, write_raw

CONFIG_URI = f"s3://{CURATED_BUCKET}/config/pipeline.yaml"
ROOTS = {
    "--curated_root": f"s3://{CURATED_BUCKET}/curated/",
    "--quarantine_root": f"s3://{CURATED_BUCKET}/curated/_quarantine/",
    "--config_uri": CONFIG_URI,
}


@pytest.fixture(scope="module")
def s3(aws: AwsClients) -> Any:
    for bucket in (RAW_BUCKET, CURATED_BUCKET):
        aws.s3.create_bucket(Bucket=bucket)
    aws.s3.put_object(Bucket=CURATED_BUCKET, Key="config/pipeline.yaml", Body=spark_config_text().encode())
    aws.glue.create_database(DatabaseInput={"Name": "retail_curated"})  # the stack declares it
    return aws.s3


def _args(dataset: str, manifests: str, run_id: str = "run-1") -> dict[str, str]:
    return {"--dataset": dataset, "--run_id": run_id, "--manifest_uris": manifests, **ROOTS, "--enable-metrics": ""}


def _publish_args(run_id: str, datasets: list[str]) -> dict[str, str]:
    return {"--run_id": run_id, "--datasets": json.dumps(datasets), **ROOTS, "--datalake-formats": "iceberg"}


def _count(spark: SparkSession, table: str, branch: str | None = None) -> int:
    return spark.table(table_identifier("retail_curated", table, branch)).count()


def test_runs_jobs_stages_on_the_branch_and_publishes(s3: Any, spark: SparkSession) -> None:
    _, rates_uri = write_raw(s3, "exchange_rates", "run-1", "jsonl.gz", [fx.RATES])
    _, sales_uri = write_raw(s3, "sales", "run-1", "csv.gz", [(fx.SALES_HEADER, p) for p in fx.SALES_PARTS])
    out = run_glue_job("retail-standardize-exchange_rates", _args("exchange_rates", rates_uri), s3=s3, spark=spark)
    assert out["JobRunState"] == "SUCCEEDED"
    record = run_glue_job("retail-standardize-sales", _args("sales", sales_uri), s3=s3, spark=spark)["Record"]
    assert (record["raw_rows"], record["curated_rows"]) == (14, 5)
    assert record["raw_rows"] == record["curated_rows"] + record["quarantined_rows"] + record["duplicate_rows"]
    stored = json.loads(s3.get_object(Bucket=CURATED_BUCKET, Key="runs/run-1/sales/standardize.json")["Body"].read())
    assert stored == record
    # Staged, not published: readers of main see nothing yet.
    assert _count(spark, "sales", "run_run_1") == 5 and _count(spark, "sales") == 0
    assert _count(spark, "sales_quarantine", "run_run_1") == record["quarantined_rows"]

    published = run_glue_job("retail-publish", _publish_args("run-1", ["exchange_rates", "sales"]), s3=s3, spark=spark)
    sales = published["Record"]["sales"]
    assert sales["published_snapshot_id"] == record["staged_snapshot_id"]
    assert json.loads(s3.get_object(Bucket=CURATED_BUCKET, Key="runs/run-1/sales/publish.json")["Body"].read()) == sales
    assert _count(spark, "sales") == 5 and _count(spark, "sales_quarantine") == record["quarantined_rows"]
    refs = {
        r["name"] for r in spark.sql(f"SELECT name FROM {table_identifier('retail_curated', 'sales')}.refs").collect()
    }
    assert refs == {"main"}  # the run's branch is gone once published

    # Running the same run again (standardize, publish) changes nothing a reader sees.
    again = run_glue_job("retail-standardize-sales", _args("sales", sales_uri), s3=s3, spark=spark)["Record"]
    run_glue_job("retail-publish", _publish_args("run-1", ["sales"]), s3=s3, spark=spark)
    assert {k: again[k] for k in ("raw_rows", "curated_rows", "quarantined_rows", "duplicate_rows")} == {
        k: record[k] for k in ("raw_rows", "curated_rows", "quarantined_rows", "duplicate_rows")
    }
    assert _count(spark, "sales") == 5 and _count(spark, "sales_quarantine") == record["quarantined_rows"]


def test_nothing_new_creates_the_tables_and_stages_nothing(s3: Any, spark: SparkSession) -> None:
    out = run_glue_job("retail-standardize-products", _args("products", "-", "run-9"), s3=s3, spark=spark)
    record = out["Record"]
    assert (record["raw_rows"], record["status"], record["branch"]) == (0, "SUCCEEDED", None)
    assert record["staged_snapshot_id"] is None
    assert _count(spark, "products") == 0  # the empty table exists: views and marts can read it


@pytest.mark.parametrize(
    ("job", "change", "message"),
    [
        ("retail-standardize-nope", {}, "EntityNotFoundException.*retail-standardize-nope"),
        ("other-standardize-sales", {}, "not found"),
        ("retail-standardize-sales", {"--run_id": None}, "missing job argument.*--run_id"),
        ("retail-standardize-sales", {"--datset": "sales"}, "unknown job argument '--datset'"),
        ("retail-standardize-sales", {"--dataset": "customers"}, "standardizes 'sales', not 'customers'"),
        ("retail-standardize-sales", {"--curated_root": "/tmp/x"}, "expected an s3:// root"),
        ("retail-publish", {"--manifest_uris": None, "--dataset": None}, "missing job argument.*--datasets"),
    ],
)
def test_bad_job_or_arguments_fail_loudly(s3: Any, job: str, change: dict[str, Any], message: str) -> None:
    args = {**_args("sales", "")}
    for name, value in change.items():
        if value is None:
            args.pop(name)
        else:
            args[name] = value
    with pytest.raises(GlueJobError, match=message):
        run_glue_job(job, args, s3=s3)
