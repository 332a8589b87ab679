"""The three ingest Lambda handlers, called like Lambda calls them: contract events, moto S3/Secrets Manager."""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import psycopg
import pytest
from ingest_support import LAKE, ROOT, aws_module, body, keys, s3_fixture  # noqa: F401

from dataplatform.ingest import lambda_support
from dataplatform.local.apis import CustomerApi, sample_customers

TOKEN = "handler-secret-token"


def load_handler(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"handler_{name}", ROOT / "lambdas" / name / "handler.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Context:
    remaining_ms: int = 900_000
    function_name: str = "retail-ingest"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:retail-ingest"
    aws_request_id: str = "request-1"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def event(dataset: str, cursor: Any = None, run_id: str = "2024-02-01-daily") -> dict[str, Any]:
    return {
        "dataset": dataset,
        "run_id": run_id,
        "window": {"start": "2024-01-01", "end": "2024-01-31"},
        "ingest_date": "2024-02-01",
        "cursor": cursor,
    }


@pytest.fixture
def env(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("RAW_BUCKET", LAKE.raw_bucket)
    monkeypatch.setenv("CURATED_BUCKET", LAKE.curated_bucket)
    monkeypatch.setenv("PIPELINE_CONFIG", str(ROOT / "pipeline.yaml"))
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "retail-ingest")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "retail")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    lambda_support._clients.cache_clear()
    lambda_support._config.cache_clear()
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    secrets.create_secret(Name="retail/customer-api", SecretString=json.dumps({"token": TOKEN}))
    yield secrets
    lambda_support._clients.cache_clear()
    lambda_support._config.cache_clear()


def emf_metrics(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' in line]


def test_rest_handler_returns_the_contract_payload_and_emits_metrics(
    env: Any, s3: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with CustomerApi(sample_customers(120), TOKEN) as api:
        monkeypatch.setenv("CUSTOMER_API_URL", api.url)
        out = load_handler("ingest_rest").handler(event("customers"), Context())
    assert set(out) == {"dataset", "run_id", "status", "cursor", "manifest_uri", "rows", "bytes", "files", "rejected"}
    assert (out["status"], out["rows"], out["files"], out["cursor"]) == ("done", 120, 1, None)
    manifest_key = "raw/customers/ingest_date=2024-02-01/run_id=2024-02-01-daily/_manifest.json"
    assert out["manifest_uri"] == f"s3://{LAKE.raw_bucket}/{manifest_key}"
    assert json.loads(body(s3, LAKE.curated_bucket, "runs/2024-02-01-daily/customers/ingest.json")) == out
    captured = capsys.readouterr().out
    metrics = emf_metrics(captured)
    assert metrics and metrics[-1]["dataset"] == "customers" and metrics[-1]["IngestedRows"] == [120.0]
    assert {"IngestedBytes", "IngestDuration"} <= set(metrics[-1])
    assert TOKEN not in captured


def test_rest_handler_401_fails_without_logging_the_secret(
    env: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    s3: Any,
) -> None:
    with CustomerApi(sample_customers(3), "a-different-token") as api:
        monkeypatch.setenv("CUSTOMER_API_URL", api.url)
        with pytest.raises(Exception, match=r"HTTP 401.*retail/customer-api"):
            load_handler("ingest_rest").handler(event("customers"), Context())
    captured = capsys.readouterr()
    logs = caplog.text + captured.out + captured.err
    assert "ingest failed" in logs and "HTTP 401" in logs and TOKEN not in logs
    assert keys(s3, LAKE.raw_bucket, "raw/") == []


def test_csv_handler_continues_when_time_runs_short(env: Any, s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    header = "Transaction_ID,Customer_ID,Product_ID,Quantity,Price,Currency,Transaction_Date\n"
    for i in range(2):
        s3.put_object(
            Bucket=LAKE.raw_bucket, Key=f"landing/sales/f{i}.csv", Body=(header + f"S{i},1,1,1,1.00,USD,2024-01-02\n")
        )
    monkeypatch.setenv("INGEST_TIME_MARGIN_S", "30")
    handler = load_handler("ingest_csv").handler
    first = handler(event("sales"), Context(remaining_ms=10_000))
    assert (first["status"], first["manifest_uri"], first["rows"], first["files"]) == ("continue", None, 1, 1)
    assert not [k for k in keys(s3, LAKE.curated_bucket, "runs/") if k.endswith("ingest.json")]  # only when done
    second = handler(event("sales", first["cursor"]), Context(remaining_ms=10_000))
    assert (second["status"], second["rows"], second["files"]) == ("done", 2, 2)


def test_handler_rejects_a_dataset_of_another_kind_and_a_bad_event(env: Any) -> None:
    with pytest.raises(ValueError, match=r"dataset 'sales' is a csv source, not rest"):
        load_handler("ingest_rest").handler(event("sales"), Context())
    # Powertools' parser checks the event against its model before any work, naming every missing field.
    with pytest.raises(ValueError, match=r"(?s)IngestEvent.*window\n  Field required.*ingest_date\n  Field required"):
        load_handler("ingest_csv").handler({"dataset": "sales", "run_id": "r"}, Context())


@pytest.fixture
def pg_uri() -> Iterator[str]:
    pgserver = pytest.importorskip("pgserver")
    data_dir = tempfile.mkdtemp(prefix="pg-handler-")
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    uri = server.get_uri()
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE products (product_id bigint PRIMARY KEY, product_name text NOT NULL, category text,"
            " price numeric(12,2) NOT NULL, stock_available integer)"
        )
        conn.execute("INSERT INTO products SELECT g, 'P' || g, 'Books', g, g FROM generate_series(1, 25) g")
    yield uri
    server.cleanup()
    shutil.rmtree(data_dir, ignore_errors=True)


def test_postgres_handler_reads_credentials_from_secrets_manager(env: Any, s3: Any, pg_uri: str) -> None:
    env.create_secret(Name="retail/postgres", SecretString=json.dumps({"uri": pg_uri}))
    out = load_handler("ingest_postgres").handler(event("products"), Context())
    assert (out["status"], out["rows"], out["files"]) == ("done", 25, 1)
    manifest = json.loads(body(s3, LAKE.raw_bucket, out["manifest_uri"].split("/", 3)[3]))
    assert manifest["files"][0]["key"].endswith("part-00000.parquet") and manifest["source"]["table"] == "products"


def test_missing_secret_is_a_clear_error(env: Any) -> None:
    with pytest.raises(Exception, match=r"cannot read secret 'retail/postgres' from Secrets Manager"):
        load_handler("ingest_postgres").handler(event("products"), Context())
