"""A small local lake for the API tests (curated fixture, every mart, audit records, one quarantine table) and the
API app over it, served through the local gateway as a WSGI app (no sockets)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
from botocore.config import Config
from werkzeug.test import Client

from dataplatform.api.app import ApiApp, ApiServices
from dataplatform.api.data_access import LakeData, defined_marts, served_marts
from dataplatform.api.run_records import LakeDirRecordStore, RunRecords
from dataplatform.athena import SAMPLE_SQL_DIR, load_sql_files
from dataplatform.athena.ddl import AUDIT_RUNS_DDL
from dataplatform.athena.sqlfiles import split_header
from dataplatform.config import PipelineConfig, load_config
from dataplatform.local.athena.engine import LocalAthena
from dataplatform.local.gateway import LocalGateway, Tokens
from dataplatform.local.serve_engine import LocalQueryEngine
from tests.component.athena_support import BUCKET, clean_data, write_lake_dir

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "pipeline.yaml")
RAW_BUCKET = "test-raw"
TOKEN, READ_TOKEN = "full-access-token", "read-only-token"
FULL = {"Authorization": f"Bearer {TOKEN}"}
READ = {"Authorization": f"Bearer {READ_TOKEN}"}

S1, S2, S3 = "2024-01-06T03:00:00", "2024-01-07T03:00:00", "2024-01-08T03:00:00"
F1, F2, F3, F4, F5 = (
    f"{day}T03:0{m}"
    for day, m in (
        ("2024-01-06", "2:00"),
        ("2024-01-06", "1:00"),
        ("2024-01-07", "0:30"),
        ("2024-01-07", "1:00"),
        ("2024-01-08", "2:00"),
    )
)
AUDIT = [
    # run_id, run_date, dataset, status, started, finished, raw, curated, quarantined, duplicates, error
    ("20240105-20240105-aaaaaaaaaa", "2024-01-06", "sales", "SUCCEEDED", S1, F1, 6, 5, 1, 0, None),
    ("20240105-20240105-aaaaaaaaaa", "2024-01-06", "products", "SUCCEEDED", S1, F2, 3, 3, 0, 0, None),
    ("20240106-20240106-bbbbbbbbbb", "2024-01-07", "sales", "FAILED", S2, F3, 2, 0, 0, 0, "boom"),
    ("20240106-20240106-bbbbbbbbbb", "2024-01-07", "products", "SUCCEEDED", S2, F4, 3, 3, 0, 0, None),
    # a re-run of the first run on a later day: its latest record replaces the first, never adds to it
    ("20240105-20240105-aaaaaaaaaa", "2024-01-08", "sales", "SUCCEEDED", S3, F5, 6, 5, 1, 0, None),
]  # fmt: skip
QUARANTINED = [
    ("20240105-20240105-aaaaaaaaaa", {"transaction_id": "X1", "price": "-3", "reason": "price:non_negative"}),
    ("20240105-20240105-aaaaaaaaaa", {"transaction_id": "X2", "price": "abc", "reason": "price:cast"}),
    ("20240105-20240105-aaaaaaaaaa", {"transaction_id": "X3", "price": "-1", "reason": "price:non_negative"}),
    ("20240106-20240106-bbbbbbbbbb", {"transaction_id": "bad", "price": "1", "reason": "transaction_id:regex"}),
]


def _audit_records(lake_dir: Path) -> None:
    for run_id, run_date, dataset, status, started, finished, raw, cur, quar, dup, error in AUDIT:
        record = {
            "run_id": run_id, "dataset": dataset, "status": status, "window_start": run_id[:4] + "-01-05",
            "window_end": run_id[:4] + "-01-05", "started_at": started, "finished_at": finished, "duration_s": 1.5,
            "raw_rows": raw, "raw_bytes": raw * 10, "curated_rows": cur, "quarantined_rows": quar,
            "duplicate_rows": dup, "watermark_previous": None, "watermark_committed": None,
            "error_step": "Standardize" if error else None, "error": error,
        }  # fmt: skip
        path = lake_dir / "s3" / BUCKET / "audit" / f"run_date={run_date}" / f"run_id={run_id}" / f"{dataset}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record) + "\n")


RUN_1 = "20240105-20240105-aaaaaaaaaa"
TIMELINE_1 = {
    "run_id": RUN_1,
    "execution": "arn:aws:states:us-east-1:1:execution:retail-pipeline:x",
    "input": {"trigger": "schedule"},
    "trigger": "schedule",
    "started_at": "2024-01-08T03:00:00+00:00",
    "steps": [
        {
            "step": "IngestCsv",
            "group": "ingest",
            "dataset": "sales",
            "query": None,
            "status": "SUCCEEDED",
            "started_at": "2024-01-08T03:00:00+00:00",
            "finished_at": "2024-01-08T03:00:10+00:00",
            "duration_s": 10.0,
            "error": None,
        },
        {
            "step": "Standardize2",
            "group": "standardize",
            "dataset": "sales",
            "query": None,
            "status": "SUCCEEDED",
            "started_at": "2024-01-08T03:00:10+00:00",
            "finished_at": "2024-01-08T03:01:30+00:00",
            "duration_s": 80.0,
            "error": None,
        },
        {
            "step": "AssertionQuery",
            "group": "assertions",
            "dataset": None,
            "query": "dq_amounts",
            "status": "SUCCEEDED",
            "started_at": "2024-01-08T03:01:30+00:00",
            "finished_at": "2024-01-08T03:01:40+00:00",
            "duration_s": 10.0,
            "error": None,
        },
    ],
}
QUALITY_1 = {"errors": 0, "warnings": 1, "results": [
    {"name": "dq_amounts", "severity": "error", "violations": 0},
    {"name": "dq_ri_customers", "severity": "warn", "violations": 7},
]}  # fmt: skip


def _run_records(lake_dir: Path) -> None:
    """The records the workflow leaves for the first run (the second run has none: its page falls back)."""
    for name, record in (("timeline", TIMELINE_1), ("quality", QUALITY_1)):
        path = lake_dir / "s3" / BUCKET / "runs" / RUN_1 / "_run" / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record))


def _quarantine(lake_dir: Path, config: PipelineConfig) -> None:
    columns = [c.name for c in config.datasets["sales"].contract.columns]
    reasons = pa.list_(pa.struct([(f, pa.string()) for f in ("rule", "column", "value", "expected")]))
    schema = pa.schema([*((c, pa.string()) for c in columns), ("reasons", reasons), ("reason", pa.string())])
    by_run: dict[str, list[dict[str, Any]]] = {}
    for run_id, row in QUARANTINED:
        column, rule = row["reason"].split(":")
        full = {c: row.get(c) for c in columns}
        full["reasons"] = [{"rule": rule, "column": column, "value": row.get(column), "expected": None}]
        by_run.setdefault(run_id, []).append({**full, "reason": row["reason"]})
    for run_id, rows in by_run.items():
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), buffer)
        path = lake_dir / "s3" / BUCKET / "curated" / "_quarantine" / "sales" / f"run_id={run_id}" / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue())
    glue_columns = [{"Name": c, "Type": "string"} for c in columns]
    reasons_type = "array<struct<rule:string,column:string,value:string,expected:string>>"
    glue_columns += [{"Name": "reasons", "Type": reasons_type}, {"Name": "reason", "Type": "string"}]
    table = {
        "Name": "sales_quarantine",
        "DatabaseName": config.glue_database("curated"),
        "TableType": "EXTERNAL_TABLE",
        "PartitionKeys": [{"Name": "run_id", "Type": "string"}],
        "Parameters": {"classification": "parquet"},
        "StorageDescriptor": {
            "Columns": glue_columns,
            "Location": f"s3://{BUCKET}/curated/_quarantine/sales/",
            "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
        },
    }
    path = lake_dir / "glue" / config.glue_database("curated") / "sales_quarantine.json"
    path.write_text(json.dumps(table))


def build_lake(lake_dir: Path, config: PipelineConfig = CONFIG) -> Path:
    """Curated fixture, marts created by the sample sql/, audit.runs with records, sales quarantine."""
    write_lake_dir(lake_dir, config, clean_data())
    _audit_records(lake_dir)
    _run_records(lake_dir)
    _quarantine(lake_dir, config)
    with LocalAthena.from_lake_dir(lake_dir, config, curated_bucket=BUCKET) as engine:
        engine.execute(split_header(AUDIT_RUNS_DDL.read_text())[1])
        for sql_file in load_sql_files(SAMPLE_SQL_DIR):
            if sql_file.kind != "assertion":
                engine.run_file(sql_file)
    return lake_dir


def local_s3(endpoint: str = "http://127.0.0.1:9") -> Any:
    """A client that only presigns (no request is sent); the endpoint stands in for the local S3."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local-secret",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


@dataclass
class ServedApi:
    app: ApiApp
    engine: LocalQueryEngine
    client: Client
    lake_dir: Path

    def get(self, path: str, headers: dict[str, str] | None = FULL) -> tuple[int, Any]:
        response = self.client.get(path, headers=headers or {})
        return response.status_code, response.get_json(silent=True)


def serve_lake(lake_dir: Path, config: PipelineConfig = CONFIG) -> ServedApi:
    engine = LocalQueryEngine(lake_dir, config, BUCKET)
    marts = served_marts(config, defined_marts(load_sql_files(SAMPLE_SQL_DIR)))
    records = RunRecords(LakeDirRecordStore(lake_dir, BUCKET))
    services = ApiServices(
        LakeData(engine, config, marts, records), s3=local_s3(), raw_bucket=RAW_BUCKET, local=True,
        sql_dir=SAMPLE_SQL_DIR,
    )  # fmt: skip
    app = ApiApp(services)
    return ServedApi(app, engine, Client(LocalGateway(app, Tokens(TOKEN, READ_TOKEN))), lake_dir)
