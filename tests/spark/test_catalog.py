"""Glue Data Catalog registration against moto's Glue (no Spark needed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from dataplatform.catalog import update_catalog
from dataplatform.config import PipelineConfig
from dataplatform.transform.standardize import StandardizeResult


@pytest.fixture
def glue(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("glue", region_name="eu-west-1")


def _result(partitions: list[str], extra: list[tuple[str, str]] = (), quarantined: int = 1) -> StandardizeResult:  # type: ignore[assignment]
    return StandardizeResult(
        dataset="sales",
        run_id="run-1",
        raw_rows=3,
        curated_rows=2,
        quarantined_rows=quarantined,
        duplicate_rows=3 - 2 - quarantined,
        partitions=partitions,
        curated_columns=[("transaction_id", "string"), ("price", "decimal(12,2)"), *extra],
        quarantine_columns=[("transaction_id", "string"), ("reason", "string")],
    )


def test_table_with_projection_and_registered_partitions(glue: Any, config: PipelineConfig) -> None:
    update_catalog(
        glue,
        config=config,
        dataset="sales",
        result=_result(["2010-05-01", "2024-03-01"]),
        curated_location="s3://cur/curated/",
        quarantine_location="s3://cur/curated/_quarantine/",
    )
    table = glue.get_table(DatabaseName="retail_curated", Name="sales")["Table"]
    params = table["Parameters"]
    assert params["projection.enabled"] == "true"
    assert params["projection.transaction_date.type"] == "date"
    assert params["projection.transaction_date.format"] == "yyyy-MM-dd"
    assert params["projection.transaction_date.range"] == "2010-05-01,NOW+1DAYS"  # earlier than quality.min_date
    assert params["storage.location.template"] == "s3://cur/curated/sales/transaction_date=${transaction_date}/"
    assert table["PartitionKeys"] == [{"Name": "transaction_date", "Type": "date"}]
    assert table["StorageDescriptor"]["Location"] == "s3://cur/curated/sales/"
    assert "ParquetHiveSerDe" in table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
    parts = glue.get_partitions(DatabaseName="retail_curated", TableName="sales")["Partitions"]
    assert sorted((p["Values"][0], p["StorageDescriptor"]["Location"]) for p in parts) == [
        ("2010-05-01", "s3://cur/curated/sales/transaction_date=2010-05-01/"),
        ("2024-03-01", "s3://cur/curated/sales/transaction_date=2024-03-01/"),
    ]
    quarantine = glue.get_table(DatabaseName="retail_curated", Name="sales_quarantine")["Table"]
    assert quarantine["PartitionKeys"] == [{"Name": "run_id", "Type": "string"}]
    q_parts = glue.get_partitions(DatabaseName="retail_curated", TableName="sales_quarantine")["Partitions"]
    assert [p["StorageDescriptor"]["Location"] for p in q_parts] == ["s3://cur/curated/_quarantine/sales/run_id=run-1/"]


def test_update_adds_columns_keeps_old_ones_and_tolerates_known_partitions(glue: Any, config: PipelineConfig) -> None:
    kwargs = dict(config=config, dataset="sales", curated_location="s3://cur/curated/",
                  quarantine_location="s3://cur/curated/_quarantine/")  # fmt: skip
    update_catalog(glue, result=_result(["2024-03-01"], extra=[("store", "string")]), **kwargs)
    update_catalog(glue, result=_result(["2024-03-01", "2024-03-02"], quarantined=0), **kwargs)
    table = glue.get_table(DatabaseName="retail_curated", Name="sales")["Table"]
    names = [c["Name"] for c in table["StorageDescriptor"]["Columns"]]
    assert names == ["transaction_id", "price", "store"]  # an evolved column is never dropped
    parts = glue.get_partitions(DatabaseName="retail_curated", TableName="sales")["Partitions"]
    assert sorted(p["Values"][0] for p in parts) == ["2024-03-01", "2024-03-02"]
    assert table["Parameters"]["projection.transaction_date.range"].startswith("2015-01-01,")
