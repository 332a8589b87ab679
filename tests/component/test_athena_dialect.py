"""The day-one analyst queries of issue 16 through `dataplatform query`, refusals, and logical names in metadata.

The conformance suite (tests/conformance) checks each function in isolation; these tests go through the CLI and a
persisted lake, the way an analyst and the local run meet the engine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dataplatform.athena import SAMPLE_SQL_DIR, load_sql_files
from dataplatform.config import load_config
from dataplatform.local.athena.engine import AthenaNotSupportedError, LocalAthena
from dataplatform.local.athena.table_catalogs import LakeDirCatalog, encode_presto_view
from dataplatform.local.cli import app
from tests.component.athena_support import BUCKET, clean_data, deployment_sql_files, variant, write_lake_dir

ROOT = Path(__file__).resolve().parents[2]
CONFIG_PATH = ROOT / "pipeline.yaml"
CONFIG = load_config(CONFIG_PATH)
runner = CliRunner()


def build_lake(lake_dir: Path, data: dict) -> Path:
    write_lake_dir(lake_dir, CONFIG, data)
    with LocalAthena.from_lake_dir(lake_dir, CONFIG, curated_bucket=BUCKET) as engine:
        for sql_file in deployment_sql_files():
            if sql_file.kind != "assertion":
                engine.run_file(sql_file)
    return lake_dir


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_lake(tmp_path_factory.mktemp("lake"), clean_data())


def query(lake: Path, sql: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["query", sql, "--lake-dir", str(lake), "--config", str(CONFIG_PATH), *args])
    return result.exit_code, result.stdout, result.stderr


def query_json(lake: Path, sql: str) -> list[dict]:
    code, out, err = query(lake, sql, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def test_timestamp_with_time_zone_results_do_not_crash(lake: Path) -> None:
    got = query_json(lake, "SELECT now() AS at, from_iso8601_timestamp('2024-01-05T10:00:00Z') AS parsed")
    assert got[0]["parsed"] == "2024-01-05T10:00:00+00:00"
    now = datetime.fromisoformat(got[0]["at"])
    assert now.utcoffset() is not None and now.utcoffset().total_seconds() == 0  # Athena's session zone: UTC
    assert now.microsecond % 1000 == 0  # timestamp(3) with time zone


def test_show_tables_in_marts(lake: Path) -> None:
    tables = [row["tab_name"] for row in query_json(lake, "SHOW TABLES IN marts")]
    assert tables == sorted(
        f.target.split(".")[1] for f in load_sql_files(SAMPLE_SQL_DIR) if f.target and f.kind == "view"
    )
    # in a fresh process, as an analyst runs it: the rows on stdout and nothing on stderr (no parser warnings)
    completed = subprocess.run(
        [sys.executable, "-m", "dataplatform", "query", "--format", "csv", "--lake-dir", str(lake),
         "SHOW TABLES IN marts"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert completed.returncode == 0 and completed.stderr == ""
    assert completed.stdout.split() == ["tab_name", *tables]


def test_cross_join_unnest_of_rows_gives_one_column_per_field(lake: Path) -> None:
    got = query_json(
        lake,
        "SELECT c.customer_id, t.kind, t.score, t.active FROM curated.customers AS c "
        "CROSS JOIN UNNEST(ARRAY[ROW('web', 1, true), ROW('shop', 2, false)]) AS t(kind, score, active) "
        "WHERE c.customer_id = 1 ORDER BY t.score",
    )
    assert got == [
        {"customer_id": 1, "kind": "web", "score": 1, "active": True},
        {"customer_id": 1, "kind": "shop", "score": 2, "active": False},
    ]


def test_format_date_arithmetic_and_approx_distinct_answer_like_athena(lake: Path) -> None:
    got = query_json(
        lake,
        "SELECT format('%s sales on %s', count(*), max(order_date)) AS line, "
        "max(order_date) + INTERVAL '1' DAY AS next_day, approx_distinct(transaction_id) AS ids "
        "FROM marts.sales_reporting",
    )
    data = clean_data()
    last = max(s["transaction_date"] for s in data["sales"] + data["transactions"])
    n = len(data["sales"]) + len(data["transactions"])
    assert got == [
        {"line": f"{n} sales on {last.isoformat()}", "next_day": date.fromordinal(last.toordinal() + 1).isoformat(),
         "ids": n}
    ]  # fmt: skip
    # the next day is a date (Athena), not a timestamp (DuckDB)
    with LocalAthena.from_lake_dir(lake, CONFIG) as engine:
        result = engine.execute("SELECT max(order_date) + INTERVAL '1' DAY FROM marts.sales_reporting")
    assert result.types == ["date"] and isinstance(result.rows[0][0], date)


def test_a_function_the_engine_cannot_answer_fails_with_one_line(lake: Path) -> None:
    for sql, construct in (
        ("SELECT approx_percentile(quantity, 0.5) FROM curated.sales", "approx_percentile"),
        ("SELECT no_such_function(1)", "no_such_function"),
        ("SELECT CAST(rate AS double) FROM curated.exchange_rates", None),  # allowed: a control
        ("SELECT CAST(CAST(rate AS double) AS varchar) FROM curated.exchange_rates", "cast(double as varchar)"),
    ):
        code, _, err = query(lake, sql)
        if construct is None:
            assert code == 0, err
            continue
        assert code == 1
        assert err.strip() == f"not supported by the local engine: {construct}"


def test_metadata_shows_the_logical_database_names(lake: Path) -> None:
    databases = query_json(lake, "SHOW DATABASES")
    assert databases == [{"database_name": "audit"}, {"database_name": "curated"}, {"database_name": "marts"}]
    tables = query_json(
        lake,
        "SELECT table_schema, count(*) AS n FROM information_schema.tables GROUP BY table_schema ORDER BY 1",
    )
    assert tables == [
        {"table_schema": "audit", "n": 1},
        {"table_schema": "curated", "n": len(clean_data())},
        {"table_schema": "marts", "n": sum(1 for f in load_sql_files(SAMPLE_SQL_DIR) if f.kind == "view")},
    ]
    columns = query_json(lake, "SHOW COLUMNS IN marts.kpi_summary")
    assert [c["field"] for c in columns][:3] == ["currency", "total_revenue", "orders"]
    described = query_json(lake, "DESCRIBE marts.kpi_summary")
    assert described[1] == {"col_name": "total_revenue", "data_type": "decimal(18,2)", "comment": ""}
    code, _, err = query(lake, "SHOW TABLES IN nowhere")
    assert code == 1 and "database nowhere does not exist" in err


def test_a_catalog_view_using_a_refused_function_is_not_mapped(tmp_path: Path) -> None:
    write_lake_dir(tmp_path, CONFIG, clean_data())
    sql = "SELECT approx_percentile(quantity, 0.5) AS median FROM retail_curated.sales"
    view = {
        "Name": "median_quantity",
        "TableType": "VIRTUAL_VIEW",
        "ViewOriginalText": encode_presto_view(sql, "retail_marts", [{"name": "median", "type": "integer"}]),
        "StorageDescriptor": {"Columns": [{"Name": "median", "Type": "int"}]},
    }
    LakeDirCatalog(tmp_path).put_table("retail_marts", view)
    with LocalAthena.from_lake_dir(tmp_path, CONFIG) as engine:
        assert "not supported by the local engine: approx_percentile" in engine.skipped["retail_marts.median_quantity"]
        with pytest.raises(AthenaNotSupportedError):
            engine.execute("SELECT width_bucket(1, 0, 10, 5)")


def test_mart_averages_round_the_exact_quotient_half_up(tmp_path: Path) -> None:
    # Two store transactions of 1.00 and 1.01: the average order is 1.005, which Athena rounds to 1.01.
    # Dividing in double precision (1.00499999...) gave 1.00.
    base = clean_data()["transactions"][0]
    cents = [
        {**base, "transaction_id": 900 + i, "customer_id": 9, "total_amount": amount, "total_amount_reporting": amount}
        for i, amount in enumerate((Decimal("1.00"), Decimal("1.01")))
    ]
    data = variant(clean_data(), transactions=[*clean_data()["transactions"], *cents])
    lake = build_lake(tmp_path, data)
    sql = "SELECT lifetime_value, orders, avg_order_value FROM marts.customer_ltv WHERE customer_id = 9"
    got = query_json(lake, sql)
    assert got == [{"lifetime_value": "2.01", "orders": 2, "avg_order_value": "1.01"}]
