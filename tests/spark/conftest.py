"""One local SparkSession for the whole test session (Spark startup is the expensive part)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from dataplatform.config import PipelineConfig, load_config

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


@pytest.fixture(scope="session")
def config() -> PipelineConfig:
    return load_config(ROOT / "pipeline.yaml", env={})
