"""Benchmark: Postgres extraction (ADBC -> Parquet parts) against `psql COPY ... (FORMAT binary)` on the same table.

    python bench/ingest_postgres.py --rows 5000000

Prints {"rows", "rows_per_s", "copy_binary_rows_per_s", "ratio", "peak_rss_mb", ...}. Targets: ratio >= 0.6 and
peak_rss_mb <= 300. The baseline runs the exact SELECT the extractor issues (same ORDER BY on the key), in the
same run, through the bundled psql. The extractor runs in a child process that reports its own peak RSS (VmHWM);
parts go to a local directory (hard links) instead of S3, so S3 client memory and network are not measured.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TABLE_DDL = (
    "CREATE TABLE bench_tx (transaction_id bigint PRIMARY KEY, customer_id bigint NOT NULL, product_id bigint NOT NULL,"
    " quantity integer NOT NULL, total_amount numeric(12,2) NOT NULL, currency text NOT NULL,"
    " transaction_date date NOT NULL, updated_at timestamptz NOT NULL)"
)
FILL = (
    "INSERT INTO bench_tx SELECT g, g % 5000 + 1, g % 700 + 1, g % 9 + 1, (g % 100000) / 100.0,"
    " (ARRAY['USD','EUR','GBP','JPY'])[g % 4 + 1], date '2020-01-01' + g % 1500,"
    " timestamptz '2024-01-01' + g * interval '1 second' FROM generate_series(1, {rows}) g"
)


class LocalDirS3:
    """The two S3 calls RawWriter makes for Parquet parts, redirected to a local directory."""

    def __init__(self, out: Path) -> None:
        self.out = out

    def upload_file(self, filename: str, bucket: str, key: str, ExtraArgs: Any = None) -> None:
        target = self.out / key.replace("/", "_")
        os.link(filename, target)

    def put_object(self, **kwargs: Any) -> dict[str, str]:
        return {"ETag": '"local"'}


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(uri: str, base: Path) -> None:
    from datetime import date

    from dataplatform.config.models import Contract, PostgresSource
    from dataplatform.ingest.base import IngestRequest, SourceJob, TimeBudget
    from dataplatform.ingest.postgres_source import PostgresExtractor
    from dataplatform.ingest.raw_writer import RawWriter
    from dataplatform.layout import Lake

    out = Path(tempfile.mkdtemp(dir=base))
    source = PostgresSource(kind="postgres", connection_secret="bench", table="bench_tx", load="full")
    contract = Contract.model_validate(
        {
            "key": ["transaction_id"],
            "partition_column": "transaction_date",
            "columns": [
                {"name": "transaction_id", "type": "bigint"},
                {"name": "transaction_date", "type": "date"},
            ],
        }
    )
    extractor = PostgresExtractor(source, contract, lambda name: {"uri": uri}, tmp_dir=str(out))
    writer = RawWriter(LocalDirS3(out), Lake("raw", "curated"), "bench", date(2024, 1, 1), "bench", "parquet")
    request = IngestRequest("bench", "bench", date(2024, 1, 1), date(2024, 1, 1), date(2024, 1, 1))
    rows = 0

    def count(raw_file: Any) -> None:
        nonlocal rows
        rows += raw_file.rows

    job = SourceJob("bench", request, None, None, TimeBudget(), writer, on_part=count)
    started, cpu = time.perf_counter(), time.process_time()
    progress = extractor.run(job)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert progress.done
    print(
        json.dumps(
            {"rows": rows, "seconds": seconds, "cpu_s": cpu, "peak_rss_mb": peak_rss_mb(), "parts": job.next_part}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child-uri")
    parser.add_argument("--child-out")
    args = parser.parse_args()
    if args.child_uri:
        child(args.child_uri, Path(args.child_out))
        return

    import pgserver
    import psycopg

    with tempfile.TemporaryDirectory(prefix="bench-pg-") as data_dir, tempfile.TemporaryDirectory() as out:
        server = pgserver.get_server(data_dir, cleanup_mode="stop")
        try:
            uri = server.get_uri()
            with psycopg.connect(uri, autocommit=True) as conn:
                conn.execute(TABLE_DDL)
                conn.execute(FILL.format(rows=args.rows))
                conn.execute("VACUUM ANALYZE bench_tx")
            psql = Path(pgserver.__file__).parent / "pginstall" / "bin" / "psql"
            query = 'SELECT * FROM "bench_tx" ORDER BY "transaction_id"'

            def copy_binary(sql: str) -> float:
                started = time.perf_counter()
                with open(os.devnull, "wb") as sink:
                    subprocess.run(
                        [str(psql), uri, "-X", "-q", "-c", f"COPY ({sql}) TO STDOUT (FORMAT binary)"],
                        stdout=sink,
                        check=True,
                    )
                return time.perf_counter() - started

            copy_binary(query)  # warm the buffer cache for both contenders
            # The machine may be shared: alternate the contenders and keep each one's best of --rounds.
            copy_times, extracts = [], []
            for _ in range(args.rounds):
                copy_times.append(copy_binary(query))
                proc = subprocess.run(
                    [sys.executable, __file__, "--child-uri", uri, "--child-out", out],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                extracts.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            unordered_s = copy_binary("SELECT * FROM bench_tx")
            copy_s = min(copy_times)
            extract = min(extracts, key=lambda e: e["seconds"])
            extract["peak_rss_mb"] = max(e["peak_rss_mb"] for e in extracts)
        finally:
            server.cleanup()
    rows_per_s = extract["rows"] / extract["seconds"]
    copy_rows_per_s = args.rows / copy_s
    print(
        json.dumps(
            {
                "rows": extract["rows"],
                "rows_per_s": round(rows_per_s),
                "copy_binary_rows_per_s": round(copy_rows_per_s),
                "ratio": round(rows_per_s / copy_rows_per_s, 3),
                "peak_rss_mb": round(extract["peak_rss_mb"], 1),
                "parts": extract["parts"],
                "copy_binary_unordered_rows_per_s": round(args.rows / unordered_s),
                "rounds": args.rounds,
                "extract_cpu_s": round(extract["cpu_s"], 2),
                "load_avg_1m": os.getloadavg()[0],
            }
        )
    )


if __name__ == "__main__":
    main()
