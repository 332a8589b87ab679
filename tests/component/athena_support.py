"""Small curated fixture lakes for the Athena tests: Parquet in the curated layout plus Glue table definitions.

Curated columns come from the pipeline.yaml contracts, plus the converted amounts and `reporting_currency` for
datasets with a `currency` block (added by standardization, names from transform/names.py), partitioned by the
contract's date partition column.
"""

from __future__ import annotations

import copy
import io
import json
from collections import defaultdict
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dataplatform.config import PipelineConfig
from dataplatform.transform.names import converted_columns

BUCKET = "test-curated"
CENT = Decimal("0.01")

Rows = list[dict[str, Any]]


def arrow_type(glue_type: str) -> pa.DataType:
    if glue_type.startswith("decimal("):
        precision, scale = glue_type[8:-1].split(",")
        return pa.decimal128(int(precision), int(scale))
    return {
        "string": pa.string(),
        "bigint": pa.int64(),
        "integer": pa.int32(),
        "int": pa.int32(),
        "double": pa.float64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us"),
    }[glue_type]


def glue_type(contract_type: str) -> str:
    return "int" if contract_type == "integer" else contract_type


def curated_columns(config: PipelineConfig, dataset: str) -> tuple[list[tuple[str, str]], tuple[str, str]]:
    """([(column, glue type)] without the partition column, (partition column, type)) of a curated table."""
    contract = config.datasets[dataset].contract
    columns = [(c.name, glue_type(c.type)) for c in contract.columns if c.name != contract.partition_column]
    columns += converted_columns(contract)
    return columns, (contract.partition_column, "date")


def glue_table(config: PipelineConfig, dataset: str, bucket: str = BUCKET) -> dict[str, Any]:
    columns, (partition, ptype) = curated_columns(config, dataset)
    return {
        "Name": dataset,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {
            "classification": "parquet",
            "projection.enabled": "true",
            f"projection.{partition}.type": "date",
            f"projection.{partition}.format": "yyyy-MM-dd",
            f"projection.{partition}.range": "2015-01-01,NOW",
            "storage.location.template": f"s3://{bucket}/curated/{dataset}/{partition}=${{{partition}}}/",
        },
        "PartitionKeys": [{"Name": partition, "Type": ptype}],
        "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": t} for n, t in columns],
            "Location": f"s3://{bucket}/curated/{dataset}/",
            "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
        },
    }


def parquet_objects(config: PipelineConfig, dataset: str, rows: Rows) -> dict[str, bytes]:
    """Curated object key -> Parquet bytes: one file per partition, partition column only in the path."""
    columns, (partition, _) = curated_columns(config, dataset)
    schema = pa.schema([(n, arrow_type(t)) for n, t in columns])
    by_partition: dict[date, Rows] = defaultdict(list)
    for row in rows:
        by_partition[row[partition]].append(row)
    objects = {}
    for value, part_rows in sorted(by_partition.items()):
        table = pa.Table.from_pylist([{n: r.get(n) for n, _ in columns} for r in part_rows], schema=schema)
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="zstd")
        objects[f"curated/{dataset}/{partition}={value.isoformat()}/part-00000.zstd.parquet"] = buffer.getvalue()
    return objects


def write_lake_dir(lake_dir: Path, config: PipelineConfig, data: dict[str, Rows], bucket: str = BUCKET) -> None:
    """The persisted local lake: <lake>/s3/<bucket>/<key> and <lake>/glue/<database>/<table>.json."""
    database = f"{config.project}_curated"
    (lake_dir / "glue" / database).mkdir(parents=True, exist_ok=True)
    for dataset, rows in data.items():
        for key, body in parquet_objects(config, dataset, rows).items():
            path = lake_dir / "s3" / bucket / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
        table = {**glue_table(config, dataset, bucket), "DatabaseName": database, "CreateTime": "2024-01-01T00:00:00"}
        (lake_dir / "glue" / database / f"{dataset}.json").write_text(json.dumps(table, indent=2))


def write_moto(glue: Any, s3: Any, config: PipelineConfig, data: dict[str, Rows], bucket: str = BUCKET) -> None:
    database = f"{config.project}_curated"
    s3.create_bucket(Bucket=bucket)
    glue.create_database(DatabaseInput={"Name": database})
    for dataset, rows in data.items():
        for key, body in parquet_objects(config, dataset, rows).items():
            s3.put_object(Bucket=bucket, Key=key, Body=body)
        glue.create_table(DatabaseName=database, TableInput=glue_table(config, dataset, bucket))


# ---------------------------------------------------------------- the clean reference fixture


def d(text: str) -> date:
    return date.fromisoformat(text)


def clean_data() -> dict[str, Rows]:
    """A consistent little lake: every assertion finds 0 violations; customers span all four segments."""
    ts = datetime(2024, 1, 10, 12, 0, 0)
    rates = [
        {"base_currency": "USD", "currency_code": code, "rate": Decimal(rate), "rate_date": d(day)}
        for day in ("2024-01-05", "2024-01-06")
        for code, rate in (("EUR", "0.91500000"), ("GBP", "0.78600000"))
    ]
    customers = [
        {"customer_id": 1, "customer_name": "Ada", "age": 36, "gender": "FEMALE", "location": "London",
         "date_joined": d("2020-02-01"), "updated_at": ts},
        {"customer_id": 2, "customer_name": "Bo", "age": 41, "gender": "MALE", "location": "Berlin",
         "date_joined": d("2021-03-15"), "updated_at": ts},
        {"customer_id": 3, "customer_name": "Cy", "age": 29, "gender": "OTHER", "location": "Paris",
         "date_joined": d("2021-03-15"), "updated_at": ts},
        {"customer_id": 4, "customer_name": "Di", "age": 52, "gender": "FEMALE", "location": "Rome",
         "date_joined": d("2023-07-30"), "updated_at": ts},
        {"customer_id": 5, "customer_name": "Ed", "age": 33, "gender": "MALE", "location": "Oslo",
         "date_joined": d("2024-01-02"), "updated_at": ts},
    ]  # fmt: skip
    products = [
        {"product_id": pid, "product_name": name, "category": cat, "price": Decimal(price), "stock_available": 5,
         "snapshot_date": d(day)}
        for day, catalogue in (
            ("2024-01-05", (("10", "Lamp", "Home", "49.90"), ("11", "Desk", "Office", "899.00"),
                            ("12", "Pen", "Office", "2.50"))),
            ("2024-01-06", (("10", "Lamp", "Home", "49.90"), ("11", "Standing desk", "Office", "949.00"),
                            ("12", "Pen", "Office", "2.50"))),
        )
        for pid, name, cat, price in catalogue
    ]  # fmt: skip
    for p in products:
        p["product_id"] = int(p["product_id"])
    sales = [
        # transaction_id, customer_id, product_id, quantity, price, currency, line_price_reporting (USD), date
        ("S1", 1, 11, 3, "899.00", "EUR", "2947.54", "2024-01-05"),
        ("S2", 1, 11, 3, "899.00", "EUR", "2947.54", "2024-01-06"),
        ("S3", 2, 10, 7, "49.90", "GBP", "444.40", "2024-01-05"),
        ("S4", None, 12, 4, "2.50", "USD", "10.00", "2024-01-06"),
        ("S5", 4, 12, 9, "2.50", "USD", "22.50", "2024-01-06"),
    ]
    transactions = [
        # transaction_id, customer_id, product_id, quantity, total_amount, currency, total_amount_reporting, date
        (100, 1, 10, 2, "99.80", "USD", "99.80", "2024-01-05"),
        (101, 2, 11, 2, "1798.00", "USD", "1798.00", "2024-01-05"),
        (102, 3, 11, 1, "899.00", "EUR", "982.51", "2024-01-06"),
        (103, 3, 12, 1, "2.50", "USD", "2.50", "2024-01-06"),
        (104, 4, 10, 1, "49.90", "USD", "49.90", "2024-01-06"),
        (105, 5, 12, 200, "500.00", "USD", "500.00", "2024-01-06"),  # exactly the Medium threshold
    ]
    return {
        "exchange_rates": rates,
        "customers": customers,
        "products": products,
        "sales": [
            {"transaction_id": t, "customer_id": c, "product_id": p, "quantity": q, "price": Decimal(price),
             "currency": cur, "line_price_reporting": Decimal(line), "reporting_currency": "USD",
             "transaction_date": d(day)}
            for t, c, p, q, price, cur, line, day in sales
        ],
        "transactions": [
            {"transaction_id": t, "customer_id": c, "product_id": p, "quantity": q, "total_amount": Decimal(amount),
             "currency": cur, "total_amount_reporting": Decimal(converted), "reporting_currency": "USD",
             "transaction_date": d(day), "updated_at": datetime(2024, 1, 6, 8, 0, 0)}
            for t, c, p, q, amount, cur, converted, day in transactions
        ],
    }  # fmt: skip


def variant(data: dict[str, Rows], **changes: Rows) -> dict[str, Rows]:
    out = copy.deepcopy(data)
    out.update(copy.deepcopy(changes))
    return out


# ---------------------------------------------------------------- expected values, in plain Python


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def expected_sales_reporting(data: dict[str, Rows]) -> list[dict[str, Any]]:
    """One row per (source, transaction_id); for a repeated key the latest version (updated_at, then date) wins."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in data["sales"]:
        key = ("sales", row["transaction_id"])
        if key not in latest or row["transaction_date"] > latest[key]["order_date"]:
            latest[key] = {
                "transaction_id": row["transaction_id"], "source": "sales", "customer_id": row["customer_id"],
                "product_id": row["product_id"], "quantity": row["quantity"],
                "amount": cents(row["price"] * row["quantity"]), "currency": row["currency"],
                "amount_reporting": row["line_price_reporting"], "reporting_currency": row["reporting_currency"],
                "order_date": row["transaction_date"],
            }  # fmt: skip
    versions: dict[str, tuple[Any, ...]] = {}
    for row in data["transactions"]:
        key = ("transactions", str(row["transaction_id"]))
        order = (row["updated_at"], row["transaction_date"])
        if key not in latest or order > versions[key[1]]:
            versions[key[1]] = order
            latest[key] = {
                "transaction_id": str(row["transaction_id"]), "source": "transactions",
                "customer_id": row["customer_id"], "product_id": row["product_id"], "quantity": row["quantity"],
                "amount": cents(row["total_amount"]), "currency": row["currency"],
                "amount_reporting": row["total_amount_reporting"], "reporting_currency": row["reporting_currency"],
                "order_date": row["transaction_date"],
            }  # fmt: skip
    return sorted(latest.values(), key=lambda r: (r["source"], r["transaction_id"]))


def deployment_sql_files() -> list:
    """What a deployment of the sample runs in Athena: the platform's audit table DDL (the stack declares it),
    then the sample's sql/ files in run order."""
    from dataplatform.athena import SAMPLE_SQL_DIR, load_sql_files
    from dataplatform.athena.ddl import AUDIT_RUNS_DDL
    from dataplatform.athena.sqlfiles import parse_sql_file

    return [parse_sql_file(AUDIT_RUNS_DDL, "ddl"), *load_sql_files(SAMPLE_SQL_DIR)]
