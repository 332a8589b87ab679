"""Schema drift policies through a whole standardize run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from dataplatform.config import PipelineConfig
from dataplatform.transform.standardize import SchemaDriftError, StandardizeRequest, standardize
from tests.spark.rawdata import CURATED_BUCKET, write_raw


def _request(root: Path, config: PipelineConfig, dataset: str, item: object) -> StandardizeRequest:
    curated = f"{root / CURATED_BUCKET / 'curated'}/"
    return StandardizeRequest(dataset, "run-1", config, (item,), curated, f"{curated}_quarantine/")  # type: ignore[arg-type]


def test_freeze_fails_naming_the_column_and_writes_nothing(
    spark: SparkSession, config: PipelineConfig, tmp_path: Path
) -> None:
    records = [{"base_currency": "USD", "currency_code": "EUR", "rate_date": "2024-03-01", "rate": 0.9,
                "provider": "ecb"}]  # fmt: skip
    item, _ = write_raw(tmp_path, "exchange_rates", "run-1", "jsonl.gz", [records])
    assert config.datasets["exchange_rates"].contract.schema_drift == "freeze"
    with pytest.raises(SchemaDriftError, match="'provider'"):
        standardize(spark, _request(tmp_path, config, "exchange_rates", item))
    assert not (tmp_path / CURATED_BUCKET).exists()


def test_type_drift_goes_to_quarantine_and_evolve_adds_a_nullable_string(
    spark: SparkSession, config: PipelineConfig, tmp_path: Path
) -> None:
    records = [
        {"Customer_ID": 1, "Customer_Name": "Ann", "Age": "thirty", "Date_Joined": "2023-01-01",
         "updated_at": "2024-03-01T00:00:00Z", "Loyalty_Tier": "gold"},
        {"Customer_ID": 2, "Customer_Name": "Ben", "Age": 30, "Date_Joined": "2023-01-02",
         "updated_at": "2024-03-01T00:00:00Z"},
    ]  # fmt: skip
    item, _ = write_raw(
        tmp_path, "customers", "run-1", "jsonl.gz", [records], created_at=datetime(2024, 3, 1, tzinfo=UTC)
    )
    customers = config.datasets["customers"]
    evolving = customers.model_copy(
        update={"contract": customers.contract.model_copy(update={"schema_drift": "evolve"})}
    )  # freeze is the default; this dataset opts in to new columns
    config = config.model_copy(update={"datasets": {**config.datasets, "customers": evolving}})
    result = standardize(spark, _request(tmp_path, config, "customers", item))
    assert (result.curated_rows, result.quarantined_rows) == (1, 1)
    assert result.evolved_columns == ["loyalty_tier"]
    assert ("loyalty_tier", "string") in result.curated_columns
    curated = spark.read.parquet(str(tmp_path / CURATED_BUCKET / "curated" / "customers")).collect()
    assert [(r["customer_id"], r["loyalty_tier"], r["gender"]) for r in curated] == [(2, None, None)]
