"""One local SparkSession for the whole test session (Spark startup is the expensive part)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from dataplatform.config import PipelineConfig

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.spark)


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    from dataplatform.local.spark_runner import local_spark

    session = local_spark()
    yield session
    session.stop()


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
