"""Benchmark: Spark standardization vs a single-node DuckDB reference applying the same contract as SQL.

    python bench/standardize.py --rows 2000000

Generates N raw `transactions` rows as Postgres ingestion writes them (Parquet parts + manifest; ~1% duplicate
keys, ~0.5% rule failures, ~0.2% unknown currencies) and a curated exchange_rates dataset, then times
1. `dataplatform.transform.standardize` on the local SparkSession (local[2]; session start reported apart), and
2. DuckDB: the transactions contract rendered to SQL (casts, rules, as-of rates via ASOF JOIN, dedup on the
   key), writing zstd Parquet partitioned the same way plus the quarantine.
Prints one JSON object: {"rows", "spark_rows_per_s", "duckdb_rows_per_s", "ratio", ...}; ratio = DuckDB / Spark
throughput (how many times faster the single-node engine is).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dataplatform.config import Contract, load_config
from dataplatform.manifest import RawFile, RawManifest
from dataplatform.transform.standardize import RawInput, StandardizeRequest, standardize

DAYS = 90
START = date(2024, 1, 1)
RATES = {"EUR": 0.92, "GBP": 0.79, "JPY": 150.0}


def make_raw(root: Path, rows: int, parts: int = 4) -> RawInput:
    """Deterministic synthetic rows (DuckDB hash of the row number), written as Parquet parts like ingestion."""
    run_dir = root / "raw" / "transactions" / "ingest_date=2024-04-01" / "run_id=bench"
    run_dir.mkdir(parents=True)
    unique = int(rows * 0.99)
    con = duckdb.connect()
    files, paths = [], []
    step = -(-rows // parts)
    for index in range(parts):
        path = run_dir / f"part-{index:05d}.parquet"
        low, high = index * step + 1, min(rows, (index + 1) * step)
        con.execute(
            f"""COPY (SELECT
                (CASE WHEN i <= {unique} THEN i ELSE 1 + hash(i) % {unique} END)::BIGINT AS transaction_id,
                (1 + hash(i * 3) % 50000)::BIGINT AS customer_id,
                (1 + hash(i * 5) % 2000)::BIGINT AS product_id,
                (CASE WHEN hash(i * 7) % 200 = 0 THEN -1 ELSE 1 + hash(i * 11) % 9 END)::INTEGER AS quantity,
                ((100 + hash(i * 13) % 99900)::DECIMAL(12, 2) / 100)::DECIMAL(12, 2) AS total_amount,
                CASE WHEN hash(i * 17) % 1000 < 500 THEN 'USD' WHEN hash(i * 17) % 1000 < 750 THEN 'EUR'
                     WHEN hash(i * 17) % 1000 < 900 THEN 'GBP' WHEN hash(i * 17) % 1000 < 978 THEN 'JPY'
                     WHEN hash(i * 17) % 1000 < 998 THEN 'usd' ELSE 'XXX' END AS currency,
                DATE '{START}' + (hash(i * 19) % {DAYS})::INTEGER AS transaction_date,
                (DATE '{START}' + (hash(i * 19) % {DAYS})::INTEGER
                    + to_seconds((hash(i * 23) % 86400)::BIGINT))::TIMESTAMPTZ AS updated_at
              FROM range({low}, {high + 1}) t(i)) TO '{path}' (FORMAT parquet)"""
        )
        files.append(RawFile(key=str(path), rows=high - low + 1, bytes=path.stat().st_size, sha256="-"))
        paths.append(str(path))
    manifest = RawManifest(
        dataset="transactions", run_id="bench", ingest_date=date(2024, 4, 1), format="parquet",
        source={"kind": "postgres", "table": "transactions"}, files=files, rows=rows,
        bytes=sum(f.bytes for f in files), created_at=datetime(2024, 4, 1, tzinfo=UTC),
    )  # fmt: skip
    return RawInput(manifest=manifest, paths=tuple(paths))


def make_rates(curated: Path) -> None:
    """Curated exchange_rates: business days only, so weekends need the as-of (nearest earlier) lookup."""
    rows = []
    for offset in range(-5, DAYS):
        day = START + timedelta(days=offset)
        if day.weekday() < 5:
            rows += [
                {"base_currency": "USD", "currency_code": c, "rate": r, "rate_date": day} for c, r in RATES.items()
            ]
    table = pa.Table.from_pylist(rows).cast(
        pa.schema(
            [
                ("base_currency", pa.string()),
                ("currency_code", pa.string()),
                ("rate", pa.decimal128(18, 8)),
                ("rate_date", pa.date32()),
            ]
        )
    )
    pq.write_to_dataset(table, str(curated / "exchange_rates"), partition_cols=["rate_date"])


def duckdb_sql(contract: Contract, parts: list[str], rates: str, out: Path, reporting: str) -> list[str]:
    """The contract as DuckDB SQL over typed (Parquet) raw input."""
    cols, reasons = [], []
    for c in contract.columns:
        src = f'"{c.source_name}"'
        value = (
            f"{c.normalize}(trim({src}))" if c.normalize != "none" else (f"trim({src})" if c.type == "string" else src)
        )
        typed = value if c.type == "string" else f"TRY_CAST({src} AS {c.type.upper()})"
        cols.append(f"{typed} AS {c.name}")
        if not c.nullable or c.name in contract.key or c.name == contract.partition_column:
            reasons.append(f"CASE WHEN {src} IS NULL THEN '{c.name}:not_null' END")
        reasons.append(f"CASE WHEN {src} IS NOT NULL AND {typed} IS NULL THEN '{c.name}:cast' END")
        for r in c.rules:
            cond = {
                "positive": f"{typed} <= 0",
                "non_negative": f"{typed} < 0",
                "regex": f"NOT regexp_matches(CAST({typed} AS VARCHAR), '{r.pattern}')",
                "in_set": f"CAST({typed} AS VARCHAR) NOT IN ({', '.join(repr(v) for v in r.values or ())})",
            }.get(r.kind)
            if cond:
                reasons.append(f"CASE WHEN {cond} THEN '{c.name}:{r.kind}' END")
    conv = contract.currency
    assert conv is not None
    amounts = ", ".join(f"CAST(t.{a} / t._rate AS DECIMAL(18,2)) AS {a}_reporting" for a in conv.amount_columns)
    files = ", ".join(repr(p) for p in parts)
    key = ", ".join(contract.key)
    order = f"{contract.updated_at} DESC, " if contract.updated_at else ""
    names = ", ".join(c.name for c in contract.columns)
    return [
        f"CREATE TEMP TABLE typed AS SELECT {', '.join(cols)}, filename AS _file, file_row_number AS _row, "
        f"list_filter([{', '.join(reasons)}], lambda x: x IS NOT NULL) AS _reasons "
        f"FROM read_parquet([{files}], filename=true, file_row_number=true)",
        f"CREATE TEMP TABLE rates AS SELECT currency_code, rate_date, rate FROM read_parquet('{rates}/*/*.parquet', "
        f"hive_partitioning=true) WHERE base_currency = '{reporting}'",
        f"CREATE TEMP TABLE conv AS SELECT t.*, CASE WHEN t.{conv.currency_column} = '{reporting}' THEN 1 "
        f"ELSE r.rate END AS _rate FROM typed t ASOF LEFT JOIN rates r ON t.{conv.currency_column} = r.currency_code "
        f"AND t.{conv.date_column} >= r.rate_date",
        "CREATE TEMP TABLE checked AS SELECT * REPLACE (CASE WHEN _rate IS NULL "
        f"AND {conv.currency_column} IS NOT NULL THEN list_append(_reasons, '{conv.currency_column}:exchange_rate') "
        "ELSE _reasons END AS _reasons) FROM conv",
        f"COPY (SELECT * EXCLUDE (_reasons, _rate) FROM checked WHERE len(_reasons) > 0) TO '{out}/quarantine.parquet' "
        "(FORMAT parquet, COMPRESSION zstd)",
        f"COPY (SELECT {names}, {amounts} FROM checked t WHERE len(_reasons) = 0 "
        f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {order}_file DESC, _row DESC) = 1) "
        f"TO '{out}/curated' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY ({contract.partition_column}), "
        "OVERWRITE_OR_IGNORE)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the temporary lake")
    args = parser.parse_args()
    config = load_config(Path(__file__).resolve().parents[1] / "pipeline.yaml", env={})
    contract = config.datasets["transactions"].contract
    root = Path(tempfile.mkdtemp(prefix="bench-standardize-"))
    try:
        item = make_raw(root, args.rows)
        curated = root / "curated"
        make_rates(curated)

        from dataplatform.local.spark_runner import local_spark

        started = time.perf_counter()
        spark = local_spark()
        spark.range(1).count()
        startup = time.perf_counter() - started
        request = StandardizeRequest("transactions", "bench", config, (item,), f"{curated}/", f"{curated}/_quarantine/")
        started = time.perf_counter()
        result = standardize(spark, request)
        spark_s = time.perf_counter() - started

        out = root / "duckdb"
        out.mkdir()
        started = time.perf_counter()
        con = duckdb.connect()
        con.execute("SET threads = 2")
        for statement in duckdb_sql(contract, list(item.paths), str(curated / "exchange_rates"), out, "USD"):
            con.execute(statement)
        duck_s = time.perf_counter() - started
        duck_curated = con.execute(f"SELECT count(*) FROM read_parquet('{out}/curated/*/*.parquet')").fetchone()[0]
        duck_quarantined = con.execute(f"SELECT count(*) FROM read_parquet('{out}/quarantine.parquet')").fetchone()[0]
        spark_rps, duck_rps = args.rows / spark_s, args.rows / duck_s
        print(
            json.dumps(
                {
                    "rows": args.rows,
                    "spark_rows_per_s": round(spark_rps),
                    "duckdb_rows_per_s": round(duck_rps),
                    "ratio": round(duck_rps / spark_rps, 2),
                    "spark_seconds": round(spark_s, 2),
                    "duckdb_seconds": round(duck_s, 2),
                    "spark_session_start_seconds": round(startup, 2),
                    "spark_counts": {
                        k: result.record()[k] for k in ("curated_rows", "quarantined_rows", "duplicate_rows")
                    },
                    "duckdb_counts": {"curated_rows": duck_curated, "quarantined_rows": duck_quarantined},
                    "same_counts": (duck_curated, duck_quarantined) == (result.curated_rows, result.quarantined_rows),
                }
            )
        )
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
