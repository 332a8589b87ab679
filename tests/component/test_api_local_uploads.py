"""Uploads through `dataplatform serve`: a real presigned POST against the local S3 lands the file in the lake;
the local S3 refuses what S3 would by the policy (moto alone stores anything: post_policy.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from dataplatform.local.lake_store import write_resources
from dataplatform.local.serve import LocalApiServer, ServeOptions

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = (ROOT / "pipeline.yaml").read_text() + "\napi: {uploads: {per_dataset_max_mb: {sales: 1}}}\n"
CSV = b"Transaction_ID,Customer_ID,Product_ID,Quantity,Price,Currency,Transaction_Date\nS1,1,2,3,4.50,USD,2024-05-01\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalApiServer]:
    root = tmp_path_factory.mktemp("serve")
    (root / "pipeline.yaml").write_text(PIPELINE)
    write_resources(root / "lake", "retail", {"raw_bucket": "retail-raw", "curated_bucket": "retail-curated"})
    options = ServeOptions(config_file=root / "pipeline.yaml", lake_dir=root / "lake", port=0, token="tok")
    with LocalApiServer(options) as running:
        yield running


def ticket(server: LocalApiServer) -> dict:  # type: ignore[type-arg]
    response = requests.post(f"{server.url}/uploads/sales?filename=day.csv", headers={"Authorization": "Bearer tok"})
    assert response.status_code == 200
    return response.json()


def post(ticket: dict, body: bytes, **field_changes: str) -> requests.Response:  # type: ignore[type-arg]
    return requests.post(ticket["url"], data={**ticket["fields"], **field_changes}, files={"file": ("x.csv", body)})


def test_a_presigned_post_lands_in_the_lake(server: LocalApiServer) -> None:
    t = ticket(server)
    assert post(t, CSV).status_code == 204
    landed = server.lake_dir / "s3" / "retail-raw" / t["key"]
    for _ in range(40):
        if landed.is_file():
            break
        time.sleep(0.25)
    assert landed.read_bytes() == CSV and t["key"].startswith("landing/sales/api-")


def test_the_local_s3_refuses_what_the_policy_forbids(server: LocalApiServer) -> None:
    t = ticket(server)
    oversize = post(t, b"x" * (1024 * 1024 + 1))
    assert oversize.status_code == 400 and "<Code>EntityTooLarge</Code>" in oversize.text
    assert post(t, b"").status_code == 400  # content-length-range starts at 1 byte
    wrong_type = post(t, CSV, **{"Content-Type": "application/octet-stream"})
    assert wrong_type.status_code == 403 and "Policy Condition failed" in wrong_type.text
    elsewhere = post(t, CSV, key="raw/sales/sneaky.csv")
    assert elsewhere.status_code == 403
    extra = post(t, CSV, **{"x-amz-meta-owner": "me"})
    assert extra.status_code == 403 and "Extra input fields" in extra.text
    time.sleep(1)
    keys = [p.name for p in (server.lake_dir / "s3" / "retail-raw").rglob("*") if p.is_file()]
    assert not any("sneaky" in k for k in keys)
