"""What the audit of a run reads (prepare_audit) and what the weekly maintenance runs: statements only, no engine."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from dataplatform.athena.maintenance import maintenance_statements
from dataplatform.config import load_config
from dataplatform.layout import Lake
from dataplatform.local.iceberg_maintenance import MaintenanceStatement, parse_maintenance
from dataplatform.workflow.staging import staged_view_statements

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "pipeline.yaml", env={})
LAKE = Lake(raw_bucket="raw", curated_bucket="cur")


@mock_aws
def test_staged_views_read_the_staged_snapshot_of_each_dataset_of_the_run_and_main_for_the_rest() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="cur")
    record = {"status": "SUCCEEDED", "staged_snapshot_id": 11, "quarantine_staged_snapshot_id": 12}
    s3.put_object(Bucket="cur", Key="runs/r1/sales/standardize.json", Body=json.dumps(record))
    nothing_new = {"status": "SUCCEEDED", "staged_snapshot_id": None, "quarantine_staged_snapshot_id": None}
    s3.put_object(Bucket="cur", Key="runs/r1/products/standardize.json", Body=json.dumps(nothing_new))
    statements = staged_view_statements(CONFIG, LAKE, s3, "r1", ["sales", "products"], ["marts.fx_overrides"])
    by_name = {s["name"]: s for s in statements}
    assert len(statements) == 2 * len(CONFIG.datasets) + 1
    assert by_name["staged_sales"] == {
        "name": "staged_sales",
        "database": "retail_staged_curated",
        "sql": 'CREATE OR REPLACE VIEW "retail_staged_curated"."sales" AS '
        'SELECT * FROM "retail_curated"."sales" FOR VERSION AS OF 11',
    }
    assert by_name["staged_sales_quarantine"]["sql"].endswith(
        '"retail_curated"."sales_quarantine" FOR VERSION AS OF 12'
    )
    assert by_name["staged_products"]["sql"].endswith('FROM "retail_curated"."products"')  # nothing staged: main
    assert by_name["staged_customers"]["sql"].endswith('FROM "retail_curated"."customers"')  # not in the run
    assert by_name["staged_fx_overrides"]["sql"] == (
        'CREATE OR REPLACE VIEW "retail_staged_marts"."fx_overrides" AS SELECT * FROM "retail_marts"."fx_overrides"'
    )


@mock_aws
def test_a_dataset_of_the_run_without_a_successful_record_cannot_be_audited() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="cur")
    failed = {"status": "FAILED", "error": "x"}
    s3.put_object(Bucket="cur", Key="runs/r1/sales/standardize.json", Body=json.dumps(failed))
    with pytest.raises(ValueError, match="sales: run r1 has no successful standardize record"):
        staged_view_statements(CONFIG, LAKE, s3, "r1", ["sales"], [])
    with pytest.raises(ValueError, match=r"expected curated\.<table> or marts\.<table>"):
        staged_view_statements(CONFIG, LAKE, s3, "r1", [], ["audit.runs"])


def test_maintenance_optimizes_then_vacuums_every_curated_and_quarantine_table() -> None:
    statements = maintenance_statements(CONFIG)
    assert [s["sql"] for s in statements[:4]] == [
        "OPTIMIZE retail_curated.exchange_rates REWRITE DATA USING BIN_PACK",
        "VACUUM retail_curated.exchange_rates",
        "OPTIMIZE retail_curated.exchange_rates_quarantine REWRITE DATA USING BIN_PACK",
        "VACUUM retail_curated.exchange_rates_quarantine",
    ]
    assert len(statements) == 4 * len(CONFIG.datasets)
    assert {s["database"] for s in statements} == {"retail_curated"}


def test_the_local_runner_recognizes_athena_maintenance_statements() -> None:
    assert parse_maintenance("OPTIMIZE retail_curated.sales REWRITE DATA USING BIN_PACK", None) == (
        MaintenanceStatement("optimize", "retail_curated", "sales")
    )
    assert parse_maintenance(
        "optimize sales rewrite data using bin_pack where transaction_date >= DATE '2024-01-01'", "retail_curated"
    ) == MaintenanceStatement("optimize", "retail_curated", "sales", "transaction_date >= DATE '2024-01-01'")
    assert parse_maintenance('VACUUM "retail_curated"."sales";', None) == (
        MaintenanceStatement("vacuum", "retail_curated", "sales")
    )
    assert parse_maintenance("SELECT * FROM retail_curated.sales", "retail_curated") is None
    assert parse_maintenance("CREATE OR REPLACE VIEW v AS SELECT 1 AS vacuum", "x") is None
    with pytest.raises(ValueError, match="needs a database"):
        parse_maintenance("VACUUM sales", None)
