"""CSV parts as ingestion keeps them: the manifest's encoding and delimiter, a header in every part."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession

from dataplatform.config import PipelineConfig
from tests.spark.iceberg_lake import AwsClients, IcebergLake

HEADER = ["Transaction_ID", "Customer_ID", "Product_ID", "Quantity", "Price", "Currency", "Transaction_Date", "Store"]


@pytest.fixture(scope="module")
def lake(spark: SparkSession, aws: AwsClients, config: PipelineConfig) -> IcebergLake:
    return IcebergLake(spark, aws, config, "csvformats")


def test_latin1_semicolon_and_bom_parts(lake: IcebergLake) -> None:
    rows = [["S1", "1", "10", "2", "3.50", "USD", "2024-03-01", "Zürich; Bahnhof"],
            ["S2", "2", "11", "1", "4.00", "USD", "2024-03-01", "Café\nCorner"]]  # fmt: skip
    item = lake.raw(
        "sales", "latin1", "csv.gz", [(HEADER, rows, "latin-1")], source={"encoding": "latin-1", "delimiter": ";"}
    )
    result = lake.stage("sales", "latin1", (item,))
    assert result.curated_rows == 2
    stores = {r["transaction_id"]: r["store"] for r in lake.rows("sales", run_id="latin1")}
    assert stores == {"S1": "Zürich; Bahnhof", "S2": "Café\nCorner"}


def test_utf8_byte_order_mark_does_not_hide_the_first_column(lake: IcebergLake) -> None:
    rows = [["S1", "1", "10", "2", "3.50", "USD", "2024-03-01", "North"]]
    item = lake.raw(
        "sales", "bom", "csv.gz", [(HEADER, rows, "utf-8-sig"), (HEADER, rows, "utf-8-sig")],
        source={"encoding": "utf-8-sig"},
    )  # fmt: skip
    result = lake.stage("sales", "bom", (item,))
    assert (result.curated_rows, result.duplicate_rows, result.quarantined_rows) == (1, 1, 0)


def test_a_part_with_other_columns_fails_loudly(lake: IcebergLake) -> None:
    rows = [["S1", "1", "10", "2", "3.50", "USD", "2024-03-01", "North"]]
    swapped = [HEADER[1], HEADER[0], *HEADER[2:]]
    item = lake.raw("sales", "swapped", "csv.gz", [(HEADER, rows), (swapped, rows)])
    with pytest.raises(Exception, match=r"(?i)header"):
        lake.stage("sales", "swapped", (item,))
