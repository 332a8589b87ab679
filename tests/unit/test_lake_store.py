"""The on-disk local lake: dump mirrors moto exactly, restore brings it back byte for byte."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import boto3
from moto import mock_aws

from dataplatform.local import lake_store
from dataplatform.local.sample_data import DATA_DAYS, generate


def _clients() -> tuple:
    return boto3.client("s3", region_name="us-east-1"), boto3.client("glue", region_name="us-east-1")


def test_dump_then_restore_round_trips_objects_and_tables(tmp_path: Path) -> None:
    table = {
        "Name": "sales",
        "StorageDescriptor": {"Columns": [{"Name": "x", "Type": "bigint"}], "Location": "s3://cur/curated/sales/"},
        "PartitionKeys": [{"Name": "transaction_date", "Type": "date"}],
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"projection.enabled": "true"},
    }
    payload = bytes(range(256)) * 10
    with mock_aws():
        s3, glue = _clients()
        s3.create_bucket(Bucket="cur")
        s3.put_object(Bucket="cur", Key="curated/sales/transaction_date=2024-01-02/part-0.parquet", Body=payload)
        s3.put_object(Bucket="cur", Key="state/sales.json", Body=b'{"watermark": "w"}')
        glue.create_database(DatabaseInput={"Name": "retail_curated"})
        glue.create_table(DatabaseName="retail_curated", TableInput=table)
        lake_store.dump(tmp_path, s3, glue)
        # An object deleted in moto disappears from disk on the next dump.
        s3.delete_object(Bucket="cur", Key="state/sales.json")
        lake_store.dump(tmp_path, s3, glue)

    part = tmp_path / "s3/cur/curated/sales/transaction_date=2024-01-02/part-0.parquet"
    assert part.read_bytes() == payload
    assert not (tmp_path / "s3/cur/state/sales.json").exists()
    stored = json.loads((tmp_path / "glue/retail_curated/sales.json").read_text())
    assert isinstance(stored["CreateTime"], str)  # dates as strings

    with mock_aws():
        s3, glue = _clients()
        counts = lake_store.restore(tmp_path, s3, glue)
        assert counts == {"objects": 1, "tables": 1}
        body = s3.get_object(Bucket="cur", Key="curated/sales/transaction_date=2024-01-02/part-0.parquet")["Body"]
        assert body.read() == payload
        restored = glue.get_table(DatabaseName="retail_curated", Name="sales")["Table"]
        assert restored["PartitionKeys"] == table["PartitionKeys"]
        assert restored["StorageDescriptor"]["Location"] == "s3://cur/curated/sales/"


def test_sample_data_is_deterministic_and_inside_the_data_days() -> None:
    a, b = generate(0.2), generate(0.2)
    assert a.sales_files == b.sales_files and a.transactions == b.transactions
    assert generate(0.2, seed=1).sales_files != a.sales_files
    assert all(DATA_DAYS[0] <= t["transaction_date"] <= DATA_DAYS[1] for t in a.transactions)
    assert {t["currency"] for t in a.transactions} <= {"USD", "EUR", "GBP", "JPY", "CHF"}
    rows = sum(body.count(b"\n") - 1 for body in a.sales_files.values())
    assert rows == 80 + 2  # 400 * 0.2 sales plus the two deliberate duplicates
    assert isinstance(a.transactions[0]["transaction_date"], date)
