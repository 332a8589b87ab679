"""`dataplatform query`: typical analyst queries against a persisted local lake, output formats, errors."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dataplatform.athena import SAMPLE_SQL_DIR, load_sql_files
from dataplatform.config import load_config
from dataplatform.local.athena.engine import LocalAthena
from dataplatform.local.cli import app
from tests.component.athena_support import BUCKET, cents, clean_data, expected_sales_reporting, write_lake_dir

ROOT = Path(__file__).resolve().parents[2]
CONFIG_PATH = ROOT / "pipeline.yaml"
CONFIG = load_config(CONFIG_PATH)
runner = CliRunner()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake as the demo leaves it: curated data, catalog, and the views created by the sql/ files."""
    lake_dir = tmp_path_factory.mktemp("lake")
    write_lake_dir(lake_dir, CONFIG, clean_data())
    with LocalAthena.from_lake_dir(lake_dir, CONFIG, curated_bucket=BUCKET) as engine:
        for sql_file in load_sql_files(SAMPLE_SQL_DIR):
            if sql_file.kind != "assertion":
                engine.run_file(sql_file)
    return lake_dir


def query_json(lake: Path, sql: str) -> list[dict]:
    result = runner.invoke(
        app, ["query", sql, "--format", "json", "--lake-dir", str(lake), "--config", str(CONFIG_PATH)]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_window_function(lake: Path) -> None:
    got = query_json(
        lake,
        "SELECT customer_id, lifetime_value, rank() OVER (ORDER BY lifetime_value DESC) AS rnk, "
        "sum(lifetime_value) OVER (ORDER BY lifetime_value DESC ROWS UNBOUNDED PRECEDING) AS running "
        "FROM marts.customer_ltv ORDER BY rnk",
    )
    ltv: dict[int, Decimal] = defaultdict(Decimal)
    for sale in expected_sales_reporting(clean_data()):
        if sale["customer_id"] is not None:
            ltv[sale["customer_id"]] += sale["amount_reporting"]
    ranked = sorted(ltv.items(), key=lambda kv: -kv[1])
    running, expected = Decimal(0), []
    for rank, (customer, value) in enumerate(ranked, 1):
        running += value
        expected.append({"customer_id": customer, "lifetime_value": str(value), "rnk": rank, "running": str(running)})
    assert got == expected


def test_date_trunc_and_date_literals_keep_athena_types(lake: Path) -> None:
    got = query_json(
        lake,
        "SELECT date_trunc('month', order_date) AS month, sum(revenue) AS revenue, count(*) AS days "
        "FROM marts.daily_revenue WHERE order_date >= date '2024-01-01' AND order_date < date '2024-02-01' "
        "GROUP BY 1",
    )
    sales = expected_sales_reporting(clean_data())
    assert got == [
        {"month": "2024-01-01", "revenue": str(sum(s["amount_reporting"] for s in sales)), "days": 2}
    ]  # a DATE, as in Athena (DuckDB alone would return a timestamp)


def test_approx_distinct_and_cast_to_decimal(lake: Path) -> None:
    got = query_json(
        lake,
        "SELECT approx_distinct(customer_id) AS customers, CAST(sum(amount_reporting) AS DECIMAL(20, 1)) AS total, "
        "CAST('12.345' AS DECIMAL(10, 2)) AS rounded, count(*) / 3 AS int_div FROM marts.sales_reporting",
    )
    sales = expected_sales_reporting(clean_data())
    total = sum(s["amount_reporting"] for s in sales)
    assert got == [
        {
            "customers": len({s["customer_id"] for s in sales if s["customer_id"] is not None}),
            "total": str(total.quantize(Decimal("0.1"), rounding="ROUND_HALF_UP")),
            "rounded": "12.35",
            "int_div": len(sales) // 3,  # integer division, as in Trino
        }
    ]


def test_decimal_division_stays_decimal(lake: Path) -> None:
    got = query_json(
        lake,
        "SELECT revenue / orders AS per_order, (revenue / orders) / orders AS nested "
        "FROM marts.daily_revenue ORDER BY order_date",
    )
    by_day = defaultdict(list)
    for sale in expected_sales_reporting(clean_data()):
        by_day[sale["order_date"]].append(sale["amount_reporting"])
    expected = []
    for _, amounts in sorted(by_day.items()):
        per_order = cents(sum(amounts) / len(amounts))  # Trino: decimal(18,2) / bigint keeps scale 2
        expected.append({"per_order": str(per_order), "nested": str(cents(per_order / len(amounts)))})
    assert got == expected


def test_unnamed_columns_are_named_like_athena(lake: Path) -> None:
    got = query_json(lake, "SELECT count(*), 'x' FROM curated.customers")
    assert got == [{"_col0": len(clean_data()["customers"]), "_col1": "x"}]


def test_csv_and_table_formats(lake: Path) -> None:
    sql = "SELECT segment, count(*) AS customers FROM marts.customer_segments GROUP BY segment ORDER BY segment"
    result = runner.invoke(app, ["query", sql, "--format", "csv", "--lake-dir", str(lake)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows == [["segment", "customers"], ["High", "1"], ["Low", "1"], ["Medium", "2"], ["VIP", "1"]]
    table = runner.invoke(app, ["query", sql, "--lake-dir", str(lake)])
    assert table.exit_code == 0
    assert "segment" in table.stdout and "Medium" in table.stdout and "4 rows" in table.stdout


def test_file_option_runs_a_sql_file(lake: Path) -> None:
    result = runner.invoke(
        app, ["query", "--file", str(ROOT / "sql/quality/dq_valid_segments.sql"), "--format", "json",
              "--lake-dir", str(lake)]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


def test_errors_and_usage(lake: Path, tmp_path: Path) -> None:
    failed = runner.invoke(app, ["query", "SELECT nope FROM curated.sales", "--lake-dir", str(lake)])
    assert failed.exit_code == 1
    assert 'Referenced column "nope" not found' in failed.stderr and "--- DuckDB SQL:" in failed.stderr
    missing = runner.invoke(app, ["query", "SELECT 1", "--lake-dir", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "no local lake" in missing.stderr
    both = runner.invoke(app, ["query", "SELECT 1", "--file", "x.sql", "--lake-dir", str(lake)])
    assert both.exit_code == 2 and "exactly one" in both.stderr
    bad_format = runner.invoke(app, ["query", "SELECT 1", "--format", "xml", "--lake-dir", str(lake)])
    assert bad_format.exit_code == 2


def test_fresh_process_reads_the_persisted_lake_from_the_environment(lake: Path) -> None:
    env = {**os.environ, "DATAPLATFORM_LAKE_DIR": str(lake), "PYTHONPATH": str(ROOT)}
    for name in ("AWS_ENDPOINT_URL", "MOTO_PORT"):
        env.pop(name, None)
    completed = subprocess.run(
        [sys.executable, "-m", "dataplatform", "query", "--format", "json",
         "SELECT total_revenue, orders FROM marts.kpi_summary"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    sales = expected_sales_reporting(clean_data())
    assert json.loads(completed.stdout) == [
        {"total_revenue": str(sum(s["amount_reporting"] for s in sales)), "orders": len(sales)}
    ]


def test_unqualified_names_resolve_in_the_selected_database(lake: Path) -> None:
    sales = clean_data()["sales"]
    got = query_json(lake, "SELECT count(*) AS n, sum(quantity / 2) AS halves FROM sales")
    # integer division per row, as in Trino: needs the column type of `quantity`, found in the selected database
    assert got == [{"n": len(sales), "halves": sum(s["quantity"] // 2 for s in sales)}]
    result = runner.invoke(
        app, ["query", "SELECT count(*) AS n FROM kpi_summary", "-d", "marts", "--format", "csv",
              "--lake-dir", str(lake)]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["n", "1"]
    missing = runner.invoke(app, ["query", "SELECT 1", "-d", "nope", "--lake-dir", str(lake)])
    assert missing.exit_code == 1 and "database 'nope' does not exist" in missing.stderr
