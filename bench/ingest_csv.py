"""Benchmark: streaming CSV ingestion (validate + count + sha256 + gzip multipart upload) on 100 MB and 2 GB files.

    python bench/ingest_csv.py [--small-mb 100] [--large-mb 2048]

Prints {"peak_rss_mb_small", "peak_rss_mb_large", "large_file_mb", "mb_per_s", ...}. Target: peak RSS on the
large file at most 1.2x the small one and under 512 MB. Each file is ingested in a child process that reports its
own peak RSS (VmHWM). The S3 client is a stand-in that accepts the multipart upload and discards the bytes, so
the numbers cover our code path (parse, hash, compress, buffer parts) and not moto's in-memory object store.
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

HEADER = "Transaction_ID,Customer_ID,Product_ID,Quantity,Price,Currency,Transaction_Date\n"
CURRENCIES = ("USD", "EUR", "GBP", "JPY")


class DiscardingS3:
    """The multipart-upload calls S3StreamUpload makes; bytes are counted and dropped."""

    def __init__(self) -> None:
        self.received = 0

    def create_multipart_upload(self, **kwargs: Any) -> dict[str, str]:
        return {"UploadId": "bench"}

    def upload_part(self, Body: bytes, PartNumber: int, **kwargs: Any) -> dict[str, str]:
        self.received += len(Body)
        return {"ETag": f'"{PartNumber}"'}

    def complete_multipart_upload(self, **kwargs: Any) -> dict[str, Any]:
        return {}

    def put_object(self, Body: bytes, **kwargs: Any) -> dict[str, str]:
        self.received += len(Body)
        return {"ETag": '"single"'}

    def abort_multipart_upload(self, **kwargs: Any) -> dict[str, Any]:
        return {}


def generate(path: Path, megabytes: int) -> int:
    """A sales CSV of about `megabytes` MB with distinct transaction ids; some rows carry a quoted newline.

    One 20,000-row template is rendered once; each block substitutes its block number into the ids (a C-speed
    bytes.replace), so generating 2 GB takes seconds rather than minutes of Python string formatting.
    """
    lines = []
    for i in range(20_000):
        note = ',"two\nlines"' if i % 1000 == 0 else ""
        lines.append(
            f"S#######{i:05d},{i % 5_000},{i % 700 + 1},{i % 9 + 1},{i % 10_000 / 100:.2f},{CURRENCIES[i % 4]},"
            f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}{note}\n"
        )
    template = "".join(lines).encode()
    target = megabytes * 1024 * 1024
    rows = 0
    with path.open("wb") as fh:
        fh.write(HEADER.encode())
        written = len(HEADER)
        block = 0
        while written < target:
            data = template.replace(b"#######", b"%07d" % block)
            fh.write(data)
            written += len(data)
            rows += len(lines)
            block += 1
    return rows


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(path: Path) -> None:
    from dataplatform.config.models import Contract, CsvSource
    from dataplatform.ingest.csv_source import CHUNK, copy_csv
    from dataplatform.ingest.raw_writer import GzipStreamUpload, S3StreamUpload

    source = CsvSource(kind="csv", location="landing/sales/")
    names = HEADER.strip().split(",")
    contract = Contract.model_validate(
        {
            "key": ["transaction_id"],
            "partition_column": "transaction_date",
            "columns": [
                {"name": n.lower(), "source": n, "type": "date" if n == "Transaction_Date" else "string"} for n in names
            ],
        }
    )
    s3 = DiscardingS3()
    sink = GzipStreamUpload(S3StreamUpload(s3, "raw", "bench.csv.gz", "application/gzip"))
    started, cpu = time.perf_counter(), time.process_time()
    with path.open("rb") as fh:
        stats = copy_csv(iter(lambda: fh.read(CHUNK), b""), str(path), sink, source, contract)
    sink.close()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        json.dumps(
            {
                "rows": stats.rows,
                "bytes": stats.source_bytes,
                "gzip_bytes": s3.received,
                "seconds": seconds,
                "cpu_s": cpu,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


def run_child(path: Path) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--child", str(path)], check=True, capture_output=True, text=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small-mb", type=int, default=100)
    parser.add_argument("--large-mb", type=int, default=2048)
    parser.add_argument("--dir", default=None, help="where to generate the files (default: a temp dir)")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(Path(args.child))
        return
    with tempfile.TemporaryDirectory(prefix="bench-csv-", dir=args.dir) as tmp:
        small, large = Path(tmp) / "small.csv", Path(tmp) / "large.csv"
        small_rows = generate(small, args.small_mb)
        large_rows = generate(large, args.large_mb)
        s = run_child(small)
        lg = run_child(large)
        assert (s["rows"], lg["rows"]) == (small_rows, large_rows), "row count mismatch"
        large_mb = lg["bytes"] / 1024 / 1024
        print(
            json.dumps(
                {
                    "peak_rss_mb_small": round(s["peak_rss_mb"], 1),
                    "peak_rss_mb_large": round(lg["peak_rss_mb"], 1),
                    "large_file_mb": round(large_mb, 1),
                    "mb_per_s": round(large_mb / lg["seconds"], 1),
                    "rows_large": lg["rows"],
                    "gzip_ratio": round(lg["gzip_bytes"] / lg["bytes"], 3),
                    "cpu_mb_per_s": round(large_mb / lg["cpu_s"], 1),
                    "load_avg_1m": os.getloadavg()[0],
                }
            )
        )


if __name__ == "__main__":
    main()
