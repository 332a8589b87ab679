"""Schema drift policies through a whole standardize run (faults: a new source column under freeze and evolve)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pyspark.sql import SparkSession

from dataplatform.config import PipelineConfig
from dataplatform.transform.standardize_dataset import SchemaDriftError
from tests.spark.iceberg_lake import AwsClients, IcebergLake


@pytest.fixture(scope="module")
def lake(spark: SparkSession, aws: AwsClients, config: PipelineConfig) -> IcebergLake:
    return IcebergLake(spark, aws, config, "drift")


@pytest.mark.faults
def test_freeze_fails_naming_the_column_and_writes_nothing(lake: IcebergLake) -> None:
    records = [{"base_currency": "USD", "currency_code": "EUR", "rate_date": "2024-03-01", "rate": 0.9,
                "provider": "ecb"}]  # fmt: skip
    item = lake.raw("exchange_rates", "run-1", "jsonl.gz", [records])
    assert lake.config.datasets["exchange_rates"].contract.schema_drift == "freeze"
    with pytest.raises(SchemaDriftError, match="'provider'"):
        lake.stage("exchange_rates", "run-1", (item,))
    assert lake.aws.glue.get_tables(DatabaseName=lake.database)["TableList"] == []  # no table, no branch


@pytest.mark.faults
def test_type_drift_goes_to_quarantine_and_evolve_adds_a_nullable_string(
    spark: SparkSession, aws: AwsClients, config: PipelineConfig
) -> None:
    customers = config.datasets["customers"]
    evolving = customers.model_copy(
        update={"contract": customers.contract.model_copy(update={"schema_drift": "evolve"})}
    )  # freeze is the default; this dataset opts in to new columns
    config = config.model_copy(update={"datasets": {**config.datasets, "customers": evolving}})
    lake = IcebergLake(spark, aws, config, "driftevolve")
    first = [{"Customer_ID": 3, "Customer_Name": "Cy", "Age": 41, "Date_Joined": "2022-12-01",
              "updated_at": "2024-02-01T00:00:00Z"}]  # fmt: skip
    lake.run("customers", "run-0", (lake.raw("customers", "run-0", "jsonl.gz", [first]),))
    records = [
        {"Customer_ID": 1, "Customer_Name": "Ann", "Age": "thirty", "Date_Joined": "2023-01-01",
         "updated_at": "2024-03-01T00:00:00Z", "Loyalty_Tier": "gold"},
        {"Customer_ID": 2, "Customer_Name": "Ben", "Age": 30, "Date_Joined": "2023-01-02",
         "updated_at": "2024-03-01T00:00:00Z", "Loyalty_Tier": "silver"},
    ]  # fmt: skip
    item = lake.raw("customers", "run-1", "jsonl.gz", [records], created_at=datetime(2024, 3, 1, tzinfo=UTC))
    result = lake.stage("customers", "run-1", (item,))
    assert (result.curated_rows, result.quarantined_rows) == (1, 1)
    assert result.evolved_columns == ["loyalty_tier"]
    staged = {r["customer_id"]: r for r in lake.rows("customers", run_id="run-1")}
    assert {k: (r["loyalty_tier"], r["gender"]) for k, r in staged.items()} == {2: ("silver", None), 3: (None, None)}
    # The column is the table's (Iceberg schemas are table-wide); the published rows show it as NULL, and the new
    # row is not published until the run is.
    assert {r["customer_id"]: r["loyalty_tier"] for r in lake.rows("customers")} == {3: None}
    (quarantined,) = lake.rows("customers_quarantine", run_id="run-1")
    assert (quarantined["customer_id"], quarantined["loyalty_tier"]) == ("1", "gold")
