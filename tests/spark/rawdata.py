"""Raw-zone fixtures in the exact shape ingestion writes: parts under the raw layout plus `_manifest.json`, put
into the raw bucket (moto) where the job reads them through S3A."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dataplatform.layout import Lake
from dataplatform.manifest import RawFile, RawManifest, SchemaField
from dataplatform.transform.raw_input import RawInput

RAW_BUCKET = "raw-bucket"
CURATED_BUCKET = "curated-bucket"
LAKE = Lake(raw_bucket=RAW_BUCKET, curated_bucket=CURATED_BUCKET)


def csv_bytes(header: list[str], rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def jsonl_bytes(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode("utf-8")


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def write_raw(
    s3: Any,
    dataset: str,
    run_id: str,
    fmt: str,
    parts: list[Any],
    *,
    ingest_date: date = date(2024, 3, 1),
    source: dict[str, Any] | None = None,
    created_at: datetime | None = None,
) -> tuple[RawInput, str]:
    """Put parts and a manifest under `s3://<raw bucket>/raw/...`; return the RawInput and the manifest URI.

    parts: csv.gz -> (header, rows[, encoding]) tuples, byte-exact CSV gzipped as ingestion keeps it;
    jsonl.gz -> lists of records; parquet -> pyarrow tables.
    """
    ext = {"csv.gz": "csv.gz", "jsonl.gz": "jsonl.gz", "parquet": "parquet"}[fmt]
    files: list[RawFile] = []
    paths: list[str] = []
    schema: list[SchemaField] = []
    total = 0
    for index, part in enumerate(parts):
        if fmt == "csv.gz":
            header, rows, *rest = part
            encoding = rest[0] if rest else "utf-8"
            original = csv_bytes(header, rows, encoding=encoding, delimiter=(source or {}).get("delimiter", ","))
            body = gzip.compress(original, mtime=0)
            count = len(rows)
            schema = [SchemaField(name=h, type="string") for h in header]
        elif fmt == "jsonl.gz":
            original = jsonl_bytes(part)
            body = gzip.compress(original, mtime=0)
            count = len(part)
            names = list(dict.fromkeys(k for r in part for k in r))
            schema = [SchemaField(name=n, type="string") for n in names]
        else:
            original = body = parquet_bytes(part)
            count = part.num_rows
            schema = [SchemaField(name=f.name, type=str(f.type)) for f in part.schema]
        key = LAKE.raw_part_key(dataset, ingest_date, run_id, index, ext)
        s3.put_object(Bucket=RAW_BUCKET, Key=key, Body=body)
        files.append(
            RawFile(
                key=key,
                rows=count,
                bytes=len(body),
                sha256=hashlib.sha256(body).hexdigest(),
                source_sha256=hashlib.sha256(original).hexdigest() if fmt == "csv.gz" else None,
            )
        )
        paths.append(f"s3://{RAW_BUCKET}/{key}")
        total += count
    manifest = RawManifest(
        dataset=dataset,
        run_id=run_id,
        ingest_date=ingest_date,
        format=fmt,
        source={"kind": {"csv.gz": "csv", "jsonl.gz": "rest", "parquet": "postgres"}[fmt], **(source or {})},
        files=files,
        rows=total,
        bytes=sum(f.bytes for f in files),
        schema=schema,
        created_at=created_at or datetime(2024, 3, 1, 6, 0, tzinfo=UTC),
    )
    manifest_key = LAKE.manifest_key(dataset, ingest_date, run_id)
    s3.put_object(Bucket=RAW_BUCKET, Key=manifest_key, Body=manifest.to_json().encode())
    return RawInput(manifest=manifest, paths=tuple(paths)), f"s3://{RAW_BUCKET}/{manifest_key}"
