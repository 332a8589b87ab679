"""The local Glue runner: S3 (moto) staged to disk, the real transforms, results and catalog back in AWS APIs."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest
from moto import mock_aws
from pyspark.sql import SparkSession

from dataplatform.local.spark_runner import GlueJobError, run_glue_job
from tests.spark import fixtures as fx
from tests.spark.conftest import spark_config_text
from tests.spark.rawdata import CURATED_BUCKET, RAW_BUCKET, write_raw

CONFIG_URI = f"s3://{CURATED_BUCKET}/config/pipeline.yaml"


@pytest.fixture(scope="module")
def aws() -> Iterator[dict[str, Any]]:
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "eu-west-1"}
    patch = pytest.MonkeyPatch()
    for name, value in env.items():
        patch.setenv(name, value)
    patch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        for bucket in (RAW_BUCKET, CURATED_BUCKET):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_object(Bucket=CURATED_BUCKET, Key="config/pipeline.yaml", Body=spark_config_text().encode())
        yield {"s3": s3, "glue": boto3.client("glue", region_name="eu-west-1")}
    patch.undo()


def _upload_raw(s3: Any, root: Path, dataset: str, fmt: str, parts: list[Any], run_id: str = "run-1") -> str:
    _, manifest_path = write_raw(root, dataset, run_id, fmt, parts)
    for local in (root / RAW_BUCKET).rglob("*"):
        if local.is_file():
            s3.upload_file(str(local), RAW_BUCKET, local.relative_to(root / RAW_BUCKET).as_posix())
    key = Path(manifest_path).relative_to(root / RAW_BUCKET).as_posix()
    return f"s3://{RAW_BUCKET}/{key}"


def _args(dataset: str, manifests: str, run_id: str = "run-1") -> dict[str, str]:
    return {
        "--dataset": dataset,
        "--run_id": run_id,
        "--manifest_uris": manifests,
        "--curated_root": f"s3://{CURATED_BUCKET}/curated/",
        "--quarantine_root": f"s3://{CURATED_BUCKET}/curated/_quarantine/",
        "--config_uri": CONFIG_URI,
        "--enable-metrics": "true",
    }


def _keys(s3: Any, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=CURATED_BUCKET, Prefix=prefix).get("Contents", []))


def _rows(s3: Any, prefix: str) -> int:
    total = 0
    for key in _keys(s3, prefix):
        body = s3.get_object(Bucket=CURATED_BUCKET, Key=key)["Body"].read()
        total += pq.read_metadata(io.BytesIO(body)).num_rows
    return total


def test_runs_jobs_and_publishes_to_s3_and_catalog(aws: dict[str, Any], spark: SparkSession, tmp_path: Path) -> None:
    s3, glue = aws["s3"], aws["glue"]
    rates_uri = _upload_raw(s3, tmp_path, "exchange_rates", "jsonl.gz", [fx.RATES])
    sales_uri = _upload_raw(s3, tmp_path, "sales", "csv.gz", [(fx.SALES_HEADER, p) for p in fx.SALES_PARTS])
    out = run_glue_job("retail-standardize-exchange_rates", _args("exchange_rates", rates_uri), s3=s3, glue=glue)
    assert out["JobRunState"] == "SUCCEEDED"
    out = run_glue_job("retail-standardize-sales", _args("sales", sales_uri), s3=s3, glue=glue, spark=spark)
    record = out["Record"]
    assert record["raw_rows"] == 14 and record["curated_rows"] == 5
    assert record["raw_rows"] == record["curated_rows"] + record["quarantined_rows"] + record["duplicate_rows"]
    stored = json.loads(s3.get_object(Bucket=CURATED_BUCKET, Key="runs/run-1/sales/standardize.json")["Body"].read())
    assert stored == record
    keys = _keys(s3, "curated/sales/")
    assert keys and all(k.endswith(".parquet") for k in keys)  # no _SUCCESS or .crc uploaded
    assert {k.split("/")[2] for k in keys} == {f"transaction_date={d}" for d in record["partitions"]}
    assert _rows(s3, "curated/sales/") == 5
    assert _rows(s3, "curated/_quarantine/sales/run_id=run-1/") == record["quarantined_rows"]
    table = glue.get_table(DatabaseName="retail_curated", Name="sales")["Table"]
    assert "store" in [c["Name"] for c in table["StorageDescriptor"]["Columns"]]
    parts = glue.get_partitions(DatabaseName="retail_curated", TableName="sales")["Partitions"]
    assert sorted(p["Values"][0] for p in parts) == record["partitions"]

    # Re-running the same run replaces the touched partitions: same rows, no leftovers.
    again = run_glue_job("retail-standardize-sales", _args("sales", sales_uri), s3=s3, glue=glue, spark=spark)
    assert again["Record"] == record
    assert _rows(s3, "curated/sales/") == 5
    assert len(_keys(s3, "curated/sales/")) == len(keys)


def test_nothing_new_is_a_successful_empty_run(aws: dict[str, Any], spark: SparkSession) -> None:
    out = run_glue_job(
        "retail-standardize-products", _args("products", ""), s3=aws["s3"], glue=aws["glue"], spark=spark
    )
    assert out["Record"]["raw_rows"] == 0 and out["Record"]["status"] == "SUCCEEDED"
    assert aws["glue"].get_table(DatabaseName="retail_curated", Name="products")["Table"]["PartitionKeys"] == [
        {"Name": "snapshot_date", "Type": "date"}
    ]


@pytest.mark.parametrize(
    ("job", "change", "message"),
    [
        ("retail-standardize-nope", {}, "EntityNotFoundException.*retail-standardize-nope"),
        ("other-standardize-sales", {}, "not found"),
        ("retail-standardize-sales", {"--run_id": None}, "missing job argument.*--run_id"),
        ("retail-standardize-sales", {"--datset": "sales"}, "unknown job argument '--datset'"),
        ("retail-standardize-sales", {"--dataset": "customers"}, "standardizes 'sales', not 'customers'"),
        ("retail-standardize-sales", {"--curated_root": "/tmp/x"}, "expected an s3:// root"),
    ],
)
def test_bad_job_or_arguments_fail_loudly(aws: dict[str, Any], job: str, change: dict[str, Any], message: str) -> None:
    args = {**_args("sales", "")}
    for name, value in change.items():
        if value is None:
            args.pop(name)
        else:
            args[name] = value
    with pytest.raises(GlueJobError, match=message):
        run_glue_job(job, args, s3=aws["s3"], glue=aws["glue"])
