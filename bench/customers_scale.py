"""Benchmark: the customers standardize (stage on the run's branch + publish) at the sample's scale and at 40x,
with the sample's `partition_transform: month` against `day` (the baseline: one partition per join date, as the
Parquet zone had), in one run on one JVM.

    python bench/customers_scale.py [--rows 150,6000]

The job's own code (dataplatform.transform) against a moto server with Glue's optimistic locking, raw read through
S3A, Iceberg written through GlueCatalog + S3FileIO, as in `dataplatform demo`. Join dates spread over ~1,400 days
like the sample's. Prints one JSON object: seconds per (transform, rows), the data files each wrote, and the ratios
day/month at each size and largest/smallest size per transform. Session start and a warm-up run (the JVM's first
Iceberg commit) are not measured. Timings on a shared 2-core machine vary 3-5x between runs: compare the ratios of
one run, not absolute seconds across runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3
from moto.server import ThreadedMotoServer

from dataplatform.config import load_config
from dataplatform.local import moto_patches
from dataplatform.local.platform import free_port
from dataplatform.local.spark_session import Credentials, job_session
from tests.spark.iceberg_lake import AwsClients, IcebergLake

ROOT = Path(__file__).resolve().parents[1]
JOIN_DAYS = 1_400
FIRST_JOIN = date(2020, 5, 1)


def customers(rows: int) -> list[dict[str, Any]]:
    genders = ["Female", "Male", "Other"]
    return [
        {
            "Customer_ID": i + 1,
            "Customer_Name": f"Customer {i + 1}",
            "Age": 18 + i % 60,
            "Gender": genders[i % 3],
            "Location": f"City {i % 50}",
            "Date_Joined": (FIRST_JOIN + timedelta(days=(i * 7919) % JOIN_DAYS)).isoformat(),
            "updated_at": "2024-03-01T00:00:00Z",
        }
        for i in range(rows)
    ]


def data_files(aws: AwsClients, prefix: str) -> int:
    pages = aws.s3.get_paginator("list_objects_v2").paginate(Bucket="curated-bucket", Prefix=prefix)
    return sum(1 for page in pages for obj in page.get("Contents", []) if obj["Key"].endswith(".parquet"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="150,6000", help="customer counts (the sample has 150; demo --scale 40)")
    args = parser.parse_args()
    sizes = [int(n) for n in args.rows.split(",")]
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto_patches.install()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")

    aws = AwsClients(endpoint=endpoint, s3=client("s3"), glue=client("glue"))
    t0 = time.perf_counter()
    spark = job_session(endpoint, "s3://curated-bucket/curated/", Credentials("testing", "testing"))
    spark.range(1).collect()
    session_start = time.perf_counter() - t0
    config = load_config(ROOT / "pipeline.yaml", env={})
    report: dict[str, Any] = {"benchmark": "customers_scale", "session_start_s": round(session_start, 2), "runs": {}}
    seconds: dict[tuple[str, int], float] = {}
    warmup = IcebergLake(spark, aws, config, "bench_warmup")  # the JVM's first Iceberg commit loads its classes
    warmup.run("customers", "r1", (warmup.raw("customers", "r1", "jsonl.gz", [customers(10)]),))
    try:
        for transform in ("month", "day"):  # month first: a JVM out of memory ends the run
            for rows in sizes:
                contract = config.datasets["customers"].contract.model_copy(update={"partition_transform": transform})
                dataset = config.datasets["customers"].model_copy(update={"contract": contract})
                variant = config.model_copy(update={"datasets": {**config.datasets, "customers": dataset}})
                name = f"bench_{transform}_{rows}"
                lake = IcebergLake(spark, aws, variant, name)
                joined = datetime(2024, 3, 1, tzinfo=UTC)
                item = lake.raw("customers", "r1", "jsonl.gz", [customers(rows)], created_at=joined)
                t0 = time.perf_counter()
                try:
                    result = lake.run("customers", "r1", (item,))  # stage on the branch, then publish
                except Exception as exc:  # e.g. the JVM's heap: one open Parquet writer per partition
                    report["runs"][f"{transform}@{rows}"] = {"failed": str(exc).splitlines()[0][:300]}
                    raise StopIteration from exc
                seconds[(transform, rows)] = elapsed = time.perf_counter() - t0
                assert result.curated_rows == rows, result.record()
                report["runs"][f"{transform}@{rows}"] = {
                    "seconds": round(elapsed, 2),
                    "data_files": data_files(aws, f"{name}/curated/customers/data/"),
                }
    except StopIteration:
        pass
    finally:
        server.stop()
    small, large = min(sizes), max(sizes)
    report["ratio_day_to_month"] = {
        str(n): round(seconds[("day", n)] / seconds[("month", n)], 2)
        for n in sizes
        if ("day", n) in seconds and ("month", n) in seconds
    }
    report["ratio_largest_to_smallest"] = {
        t: round(seconds[(t, large)] / seconds[(t, small)], 2)
        for t in ("month", "day")
        if (t, large) in seconds and (t, small) in seconds
    }
    report["load_average"] = os.getloadavg()[0]
    report["peak_rss_mb_python"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
