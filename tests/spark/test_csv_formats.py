"""CSV parts as ingestion keeps them: the manifest's encoding and delimiter, a header in every part."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from dataplatform.config import PipelineConfig
from dataplatform.transform.standardize import StandardizeRequest, standardize
from tests.spark.rawdata import CURATED_BUCKET, write_raw

HEADER = ["Transaction_ID", "Customer_ID", "Product_ID", "Quantity", "Price", "Currency", "Transaction_Date", "Store"]


def _run(spark: SparkSession, config: PipelineConfig, root: Path, item: object) -> object:
    """Standardize with the sample's sales contract set to evolve, so the extra `Store` column is kept."""
    sales = config.datasets["sales"]
    evolving = sales.model_copy(update={"contract": sales.contract.model_copy(update={"schema_drift": "evolve"})})
    config = config.model_copy(update={"datasets": {**config.datasets, "sales": evolving}})
    curated = f"{root / CURATED_BUCKET / 'curated'}/"
    request = StandardizeRequest("sales", "run-1", config, (item,), curated, f"{curated}_quarantine/")  # type: ignore[arg-type]
    return standardize(spark, request)


def test_latin1_semicolon_and_bom_parts(spark: SparkSession, config: PipelineConfig, tmp_path: Path) -> None:
    rows = [["S1", "1", "10", "2", "3.50", "USD", "2024-03-01", "Zürich; Bahnhof"],
            ["S2", "2", "11", "1", "4.00", "USD", "2024-03-01", "Café\nCorner"]]  # fmt: skip
    item, _ = write_raw(
        tmp_path, "sales", "run-1", "csv.gz", [(HEADER, rows, "latin-1")],
        source={"encoding": "latin-1", "delimiter": ";"},
    )  # fmt: skip
    result = _run(spark, config, tmp_path, item)
    assert result.curated_rows == 2  # type: ignore[attr-defined]
    stores = {
        r["transaction_id"]: r["store"]
        for r in spark.read.parquet(str(tmp_path / CURATED_BUCKET / "curated" / "sales")).collect()
    }
    assert stores == {"S1": "Zürich; Bahnhof", "S2": "Café\nCorner"}


def test_utf8_byte_order_mark_does_not_hide_the_first_column(
    spark: SparkSession, config: PipelineConfig, tmp_path: Path
) -> None:
    rows = [["S1", "1", "10", "2", "3.50", "USD", "2024-03-01", "North"]]
    item, _ = write_raw(
        tmp_path, "sales", "run-1", "csv.gz", [(HEADER, rows, "utf-8-sig"), (HEADER, rows, "utf-8-sig")],
        source={"encoding": "utf-8-sig"},
    )  # fmt: skip
    result = _run(spark, config, tmp_path, item)
    assert (result.curated_rows, result.duplicate_rows, result.quarantined_rows) == (1, 1, 0)  # type: ignore[attr-defined]


def test_a_part_with_other_columns_fails_loudly(spark: SparkSession, config: PipelineConfig, tmp_path: Path) -> None:
    rows = [["S1", "1", "10", "2", "3.50", "USD", "2024-03-01", "North"]]
    swapped = [HEADER[1], HEADER[0], *HEADER[2:]]
    item, _ = write_raw(tmp_path, "sales", "run-1", "csv.gz", [(HEADER, rows), (swapped, rows)])
    with pytest.raises(Exception, match=r"(?i)header"):
        _run(spark, config, tmp_path, item)
