"""The upload flow end to end on this machine: `dataplatform serve` hands out a presigned POST, the CSV is posted
to the local S3 like curl -F would, the mirror lands it under landing/<dataset>/ of the lake, `dataplatform run
--local` ingests it, and the served API then shows the run and the curated rows through the same engine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from dataplatform.local.serve import LocalApiServer, ServeOptions

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = """\
project: upload-shop
schedule: {cron: "0 4 * * ? *", timezone: UTC}
datasets:
  orders:
    source: {kind: csv, location: landing/orders/}
    contract:
      key: [order_id]
      partition_column: order_date
      columns:
        - {name: order_id, source: Order ID, type: string, nullable: false}
        - {name: order_date, source: Date, type: date, nullable: false, formats: ["yyyy-MM-dd"]}
        - {name: amount, source: Amount, type: "decimal(12,2)", nullable: false, rules: [non_negative]}
"""
CSV = b"Order ID,Date,Amount\nO1,2024-05-01,19.90\nO2,2024-05-02,-1.00\n"


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Not tmp_path: another pytest process of the same user may prune our basetemp during the long local run.
    path = Path(tempfile.mkdtemp(prefix="dataplatform-api-upload-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.e2e
def test_uploaded_csv_is_ingested_by_a_local_run(workdir: Path) -> None:
    tmp_path = workdir
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    lake = tmp_path / "lake"
    options = ServeOptions(config_file=tmp_path / "pipeline.yaml", lake_dir=lake, port=0, token="t0k")
    with LocalApiServer(options) as server:
        headers = {"Authorization": "Bearer t0k"}
        ticket = requests.post(f"{server.url}/uploads/orders?filename=may.csv", headers=headers, timeout=10).json()
        posted = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("may.csv", CSV)}, timeout=10)
        assert posted.status_code == 204
        landed = lake / "s3" / server.raw_bucket / ticket["key"]
        for _ in range(40):
            if landed.is_file():
                break
            time.sleep(0.25)
        assert landed.read_bytes() == CSV and ticket["key"].startswith("landing/orders/")

        env = {**os.environ, "JAVA_HOME": os.environ.get("JAVA_HOME") or subprocess.run(
            [str(ROOT / ".venv/bin/python"), "-m", "infra.java_home"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()}  # fmt: skip
        run = subprocess.run(
            [str(ROOT / ".venv/bin/dataplatform"), "run", "--local", "--config", "pipeline.yaml", "--lake-dir",
             str(lake), "--json", "--window", "2024-05-01:2024-05-02"],
            cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        summary = json.loads(run.stdout)
        assert summary["status"] == "SUCCEEDED"

        runs = requests.get(f"{server.url}/runs", headers=headers, timeout=30).json()["runs"]
        assert [(r["run_id"], r["raw_rows"], r["curated_rows"], r["quarantined_rows"]) for r in runs] == [
            (summary["run_id"], 2, 1, 1)
        ]
        quarantine = requests.get(f"{server.url}/datasets/orders/quarantine", headers=headers, timeout=30).json()
        assert quarantine["reasons"] == [{"reason": "amount:non_negative", "rows": 1}]
