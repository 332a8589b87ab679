"""Shared helpers for the ingestion component tests: moto S3, configs built from the sample pipeline.yaml."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from dataplatform.config import PipelineConfig
from dataplatform.ingest.base import IngestRequest
from dataplatform.layout import Lake

ROOT = Path(__file__).resolve().parents[2]
LAKE = Lake(raw_bucket="test-raw", curated_bucket="test-curated")
SAMPLE = yaml.safe_load((ROOT / "pipeline.yaml").read_text())


@pytest.fixture(scope="module")
def aws_module() -> Iterator[tuple[Any, Any]]:
    """One moto mock and one S3 client per test module: starting moto and building clients costs ~1 s each."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            mp.setenv(name, value)
        mp.delenv("AWS_ENDPOINT_URL", raising=False)
        mock = mock_aws()
        mock.start()
        try:
            yield mock, boto3.client("s3", region_name="us-east-1")
        finally:
            mock.stop()


@pytest.fixture(name="s3")
def s3_fixture(aws_module: tuple[Any, Any]) -> Iterator[Any]:
    """Empty raw and curated buckets for each test (all moto state is reset in between)."""
    mock, client = aws_module
    mock.reset()
    client.create_bucket(Bucket=LAKE.raw_bucket)
    client.create_bucket(Bucket=LAKE.curated_bucket)
    yield client


def dataset(name: str, **source_overrides: Any) -> dict[str, Any]:
    """A dataset of the sample pipeline.yaml with its source fields replaced."""
    ds = json.loads(json.dumps(SAMPLE["datasets"][name]))
    ds["source"].update(source_overrides)
    return ds


def config(**datasets: dict[str, Any]) -> PipelineConfig:
    base = {k: v for k, v in SAMPLE.items() if k != "datasets"}
    if "exchange_rates" not in datasets:  # sales and transactions depend on it
        datasets["exchange_rates"] = dataset("exchange_rates", base_url="http://127.0.0.1:9")
    for name, ds in datasets.items():
        if "${" in str(ds["source"].get("base_url", "")):
            raise ValueError(f"{name}: give base_url explicitly in tests")
    return PipelineConfig.model_validate({**base, "datasets": datasets})


def request(name: str, run_id: str = "run-1", cursor: dict | None = None, **window: str) -> IngestRequest:
    return IngestRequest(
        dataset=name,
        run_id=run_id,
        window_start=date.fromisoformat(window.get("start", "2024-01-01")),
        window_end=date.fromisoformat(window.get("end", "2024-01-31")),
        ingest_date=date(2024, 2, 1),
        cursor=cursor,
    )


def keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    resp = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in resp.get("Contents", []))


def body(s3: Any, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def manifest(s3: Any, uri: str) -> dict[str, Any]:
    bucket, _, key = uri[5:].partition("/")
    return json.loads(body(s3, bucket, key))


def jsonl_rows(s3: Any, m: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for f in m["files"]:
        rows.extend(json.loads(line) for line in gzip.decompress(body(s3, LAKE.raw_bucket, f["key"])).splitlines())
    return rows
