"""Spark tests run the job's real I/O path: raw through S3A and Iceberg through GlueCatalog + S3FileIO, against a
moto server (with Glue's optimistic locking, dataplatform/local/moto_patches.py) on loopback.

One JVM for the whole test session (Spark startup is the expensive part); one moto server and one Spark session
on it per test module, so modules never see each other's tables.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests
from pyspark.sql import SparkSession

from dataplatform.config import PipelineConfig
from tests.spark.iceberg_lake import AwsClients

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.spark)


@pytest.fixture(scope="module")
def aws() -> Iterator[AwsClients]:
    from moto.server import ThreadedMotoServer

    from dataplatform.local import moto_patches
    from dataplatform.local.platform import free_port

    moto_patches.install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"

    def client(service: str) -> object:
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    try:
        yield AwsClients(endpoint=endpoint, s3=client("s3"), glue=client("glue"))
    finally:
        requests.post(f"{endpoint}/moto-api/reset", timeout=10)  # moto's backends are process-global
        server.stop()


@pytest.fixture(scope="module")
def spark(aws: AwsClients) -> SparkSession:
    from dataplatform.local.spark_session import Credentials, job_session

    return job_session(aws.endpoint, "s3://curated-bucket/curated/", Credentials("testing", "testing"), REGION)


@pytest.fixture(scope="session", autouse=True)
def _stop_spark_at_the_end() -> Iterator[None]:
    yield
    from dataplatform.local.spark_session import stop

    stop()


SALES_CONTRACT = "      currency: {amount_columns: [price],"


def spark_config_text() -> str:
    """The sample pipeline.yaml with sales opting in to schema_drift evolve: the Spark fixtures' sales parts carry
    an extra `Store` column, to exercise evolution (the sample's default is freeze)."""
    text = (ROOT / "pipeline.yaml").read_text(encoding="utf-8")
    assert text.count(SALES_CONTRACT) == 1, "the sample's sales contract changed; update SALES_CONTRACT"
    return text.replace(SALES_CONTRACT, "      schema_drift: evolve\n" + SALES_CONTRACT)


def load_spark_config() -> PipelineConfig:
    from dataplatform.config import parse_config

    return parse_config(spark_config_text(), env={})


@pytest.fixture(scope="session")
def config() -> PipelineConfig:
    return load_spark_config()
