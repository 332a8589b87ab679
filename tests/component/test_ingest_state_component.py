"""State object with conditional puts, and commit of proposed watermarks, against moto S3."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from ingest_support import LAKE, aws_module, body, config, dataset, keys, request, s3_fixture  # noqa: F401

from dataplatform.ingest import run_ingest
from dataplatform.local.apis import CustomerApi, sample_customers
from dataplatform.state import DatasetState, StateConflictError, StateStore, commit

TOKEN = "t0ken"


def state(watermark: str | None, run_id: str = "r") -> DatasetState:
    return DatasetState(dataset="customers", watermark=watermark, run_id=run_id, updated_at=datetime.now(UTC))


def test_moto_really_enforces_if_match_and_if_none_match(s3: Any) -> None:
    first = s3.put_object(Bucket=LAKE.curated_bucket, Key="k", Body=b"1", IfNoneMatch="*")
    with pytest.raises(ClientError) as again:
        s3.put_object(Bucket=LAKE.curated_bucket, Key="k", Body=b"2", IfNoneMatch="*")
    assert again.value.response["Error"]["Code"] == "PreconditionFailed"
    s3.put_object(Bucket=LAKE.curated_bucket, Key="k", Body=b"3", IfMatch=first["ETag"])
    with pytest.raises(ClientError) as stale:
        s3.put_object(Bucket=LAKE.curated_bucket, Key="k", Body=b"4", IfMatch=first["ETag"])
    assert stale.value.response["Error"]["Code"] == "PreconditionFailed"


def test_two_writers_creating_the_state_one_wins(s3: Any) -> None:
    a, b = StateStore(s3, LAKE), StateStore(s3, LAKE)
    assert a.read("customers") == (None, None)
    a.write(state("w1", "run-a"), None)
    with pytest.raises(StateConflictError, match=r"state of dataset 'customers' changed concurrently") as caught:
        b.write(state("w2", "run-b"), None)
    assert caught.value.dataset == "customers"
    assert a.read("customers")[0].watermark == "w1"


def test_two_writers_advancing_the_same_version_one_wins(s3: Any) -> None:
    store = StateStore(s3, LAKE)
    store.write(state("w0"), None)
    _, etag_seen_by_a = store.read("customers")
    _, etag_seen_by_b = store.read("customers")
    store.write(state("w1", "run-a"), etag_seen_by_a)
    with pytest.raises(StateConflictError, match=r"'customers'.*another run wrote it first"):
        store.write(state("w2", "run-b"), etag_seen_by_b)
    current, _ = store.read("customers")
    assert (current.watermark, current.run_id) == ("w1", "run-a")


def ingest_customers(s3: Any, api: CustomerApi, run_id: str) -> Any:
    ds = dataset("customers", base_url=api.url)
    secrets = {"retail/customer-api": {"token": TOKEN}}
    return run_ingest(request("customers", run_id), config=config(customers=ds), lake=LAKE, s3=s3, secrets=secrets.get)


def test_ingestion_only_proposes_and_commit_advances(s3: Any) -> None:
    with CustomerApi(sample_customers(3, updated="2024-03-01T00:00:00Z"), TOKEN) as api:
        ingest_customers(s3, api, "run-a")
    assert keys(s3, LAKE.curated_bucket, "state/") == []  # nothing committed by ingestion
    assert commit(s3, LAKE, "run-a", ["customers"]) == {"customers": "2024-03-01T00:00:00Z"}
    saved = json.loads(body(s3, LAKE.curated_bucket, "state/customers.json"))
    assert (saved["watermark"], saved["run_id"]) == ("2024-03-01T00:00:00Z", "run-a")
    assert commit(s3, LAKE, "run-a", ["customers"]) == {"customers": "2024-03-01T00:00:00Z"}  # idempotent


def test_two_runs_from_the_same_watermark_only_one_commits(s3: Any) -> None:
    with CustomerApi(sample_customers(3), TOKEN) as api:
        ingest_customers(s3, api, "run-a")
        ingest_customers(s3, api, "run-b")
    commit(s3, LAKE, "run-b", ["customers"])
    with pytest.raises(StateConflictError, match=r"'customers'.*run run-a started from watermark None.*run-b"):
        commit(s3, LAKE, "run-a", ["customers"])
    assert json.loads(body(s3, LAKE.curated_bucket, "state/customers.json"))["run_id"] == "run-b"


def test_commit_without_a_finished_ingest_names_the_missing_record(s3: Any) -> None:
    with pytest.raises(FileNotFoundError, match=r"runs/run-x/customers/ingest.json is missing"):
        commit(s3, LAKE, "run-x", ["customers"])
    s3.put_object(Bucket=LAKE.curated_bucket, Key="runs/run-y/customers/ingest.json", Body=b'{"status": "continue"}')
    with pytest.raises(ValueError, match=r"ingestion of run run-y is not done"):
        commit(s3, LAKE, "run-y", ["customers"])
