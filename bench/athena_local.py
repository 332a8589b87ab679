"""Benchmark of the local Athena engine: build a synthetic curated lake, run every sql/ file, time each step.

    python bench/athena_local.py [--rows 1000000] [--days 60]

Prints one JSON object: rows, files, seconds per step (open, each view, each mart scan, each assertion), peak RSS.
The fixture lake is written by DuckDB (COPY ... PARTITION_BY) in the curated layout with the contract types.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataplatform.athena import SAMPLE_SQL_DIR, load_sql_files  # noqa: E402
from dataplatform.config import load_config  # noqa: E402
from dataplatform.local.athena.engine import LocalAthena  # noqa: E402
from tests.component.athena_support import BUCKET, glue_table  # noqa: E402

CUSTOMERS, PRODUCTS = 50_000, 2_000

# One SELECT per curated dataset over range(i); {n} rows, {days} partition days; h() gives stable pseudo-random numbers.
DATASETS = {
    "sales": (
        "transaction_date",
        """SELECT 'S' || i AS transaction_id, 1 + h(i) % {customers} AS customer_id,
                  1 + h(i + 1) % {products} AS product_id, CAST(1 + h(i + 2) % 9 AS INTEGER) AS quantity,
                  CAST((100 + h(i + 3) % 99900) / 100 AS DECIMAL(12,2)) AS price,
                  ['USD', 'EUR', 'GBP'][1 + h(i + 4) % 3] AS currency,
                  CAST((100 + h(i + 3) % 99900) / 100 * (1 + h(i + 2) % 9) * 1.0925 AS DECIMAL(19,2))
                    AS line_price_reporting, 'USD' AS reporting_currency,
                  DATE '2024-01-01' + CAST(h(i + 5) % {days} AS INTEGER) AS transaction_date
           FROM range({n}) t(i)""",
    ),
    "transactions": (
        "transaction_date",
        """SELECT i AS transaction_id, 1 + h(i) % {customers} AS customer_id,
                  1 + h(i + 1) % {products} AS product_id, CAST(1 + h(i + 2) % 9 AS INTEGER) AS quantity,
                  CAST((100 + h(i + 3) % 499900) / 100 AS DECIMAL(12,2)) AS total_amount,
                  ['USD', 'EUR', 'GBP'][1 + h(i + 4) % 3] AS currency,
                  TIMESTAMP '2024-03-01 00:00:00' AS updated_at,
                  CAST((100 + h(i + 3) % 499900) / 100 * 1.0925 AS DECIMAL(19,2)) AS total_amount_reporting,
                  'USD' AS reporting_currency,
                  DATE '2024-01-01' + CAST(h(i + 5) % {days} AS INTEGER) AS transaction_date
           FROM range({n}) t(i)""",
    ),
    "customers": (
        "date_joined",
        """SELECT i + 1 AS customer_id, 'c' || i AS customer_name, CAST(18 + i % 70 AS INTEGER) AS age,
                  ['MALE', 'FEMALE', 'OTHER'][1 + i % 3] AS gender, 'x' AS location,
                  TIMESTAMP '2024-03-01 00:00:00' AS updated_at,
                  DATE '2023-01-01' + CAST(i % 300 AS INTEGER) AS date_joined
           FROM range({customers}) t(i)""",
    ),
    "products": (
        "snapshot_date",
        """SELECT i + 1 AS product_id, 'p' || i AS product_name, 'c' AS category,
                  CAST(1 + i % 500 AS DECIMAL(12,2)) AS price, CAST(i % 100 AS INTEGER) AS stock_available,
                  DATE '2024-03-01' AS snapshot_date
           FROM range({products}) t(i)""",
    ),
    "exchange_rates": (
        "rate_date",
        """SELECT 'USD' AS base_currency, c AS currency_code, CAST(0.915 AS DECIMAL(18,8)) AS rate,
                  DATE '2024-01-01' + CAST(d AS INTEGER) AS rate_date
           FROM range({days}) t(d), (VALUES ('EUR'), ('GBP')) v(c)""",
    ),
}


def build(lake: Path, rows: int, days: int) -> int:
    config = load_config(ROOT / "pipeline.yaml")
    con = duckdb.connect()
    con.execute("CREATE MACRO h(x) AS CAST(hash(x) % 1000000007 AS BIGINT)")  # stable pseudo-random, signed
    database = lake / "glue" / f"{config.project}_curated"
    database.mkdir(parents=True)
    for dataset, (partition, select) in DATASETS.items():
        target = lake / "s3" / BUCKET / "curated" / dataset
        target.parent.mkdir(parents=True, exist_ok=True)
        query = select.format(n=rows, days=days, customers=CUSTOMERS, products=PRODUCTS)
        con.execute(
            f"COPY ({query}) TO '{target.as_posix()}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY ({partition}))"
        )
        (database / f"{dataset}.json").write_text(json.dumps(glue_table(config, dataset, BUCKET)))
    con.close()
    return sum(1 for _ in (lake / "s3").rglob("*.parquet"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in sales and in transactions each")
    parser.add_argument("--days", type=int, default=60)
    args = parser.parse_args()
    config = load_config(ROOT / "pipeline.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        lake = Path(tmp)
        t0 = time.perf_counter()
        files = build(lake, args.rows, args.days)
        timings: dict[str, float] = {"build_fixture": time.perf_counter() - t0}
        t0 = time.perf_counter()
        engine = LocalAthena.from_lake_dir(lake, config, curated_bucket=BUCKET)
        timings["open_engine"] = time.perf_counter() - t0
        violations: dict[str, int] = {}
        for sql_file in load_sql_files(SAMPLE_SQL_DIR):
            t0 = time.perf_counter()
            result = engine.run_file(sql_file)
            timings[f"{sql_file.kind}:{sql_file.name}"] = time.perf_counter() - t0
            if sql_file.kind == "assertion":
                violations[sql_file.name] = len(result.rows)
        for mart in ("sales_reporting", "daily_revenue", "customer_ltv", "product_revenue", "customer_segments"):
            t0 = time.perf_counter()
            engine.execute(f"SELECT count(*) FROM marts.{mart}")
            timings[f"scan:{mart}"] = time.perf_counter() - t0
        engine.close()
    print(
        json.dumps(
            {
                "benchmark": "athena_local",
                "rows_per_fact_table": args.rows,
                "days": args.days,
                "files": files,
                "seconds": {k: round(v, 3) for k, v in timings.items()},
                "engine_seconds_total": round(sum(v for k, v in timings.items() if k != "build_fixture"), 3),
                "assertion_violations": violations,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
