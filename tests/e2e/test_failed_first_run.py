"""A pipeline's very first run fails: `--json` says which step failed and why, and audit.runs already exists."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.e2e.test_first_pipeline import run_cli

pytestmark = pytest.mark.e2e

PIPELINE = textwrap.dedent(
    """\
    project: broken-shop
    schedule: {cron: "0 4 * * ? *"}
    datasets:
      orders:
        source: {kind: csv, location: ./exports-that-do-not-exist/}
        contract:
          key: [order_id]
          partition_column: order_date
          columns:
            - {name: order_id, type: string, nullable: false}
            - {name: order_date, type: date, nullable: false}
    """
)


def test_failed_first_run_reports_the_step_and_leaves_a_queryable_audit(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    run = run_cli(["run", "--local", "--json"], tmp_path)
    assert run.returncode == 1, run.stderr
    summary = json.loads(run.stdout)
    assert summary["status"] == "FAILED"
    assert summary["failure"]["step"] == "Ingest"
    assert summary["failure"]["error"] == "IngestFailed"
    assert "exports-that-do-not-exist" in summary["failure"]["cause"]
    assert Path(summary["log"]).is_file()

    audit = run_cli(["query", "--format", "json", "SELECT dataset, status, error_step FROM audit.runs"], tmp_path)
    assert audit.returncode == 0, audit.stderr
    assert json.loads(audit.stdout) == [{"dataset": "orders", "status": "FAILED", "error_step": "Ingest"}]
