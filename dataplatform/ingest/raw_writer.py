"""Writes one run's raw parts and its `_manifest.json` into the raw zone.

Parts are streamed to S3 (multipart upload once a buffer fills), so memory stays bounded whatever the size.
Each part gets a small sidecar `_parts/part-NNNNN.json` (rows, sha256, source) so a continued run can list the
parts written by earlier Lambda calls without carrying them in the (256 KB-limited) continuation cursor.
Spark and Athena ignore files and folders that start with `_`.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from dataplatform.layout import Lake
from dataplatform.manifest import RawFile, RawFormat, RawManifest, SchemaField, Watermark

MULTIPART_CHUNK = 8 * 1024 * 1024
"""S3 multipart parts must be >= 5 MiB (except the last); 8 MiB keeps memory small and request count low."""

GZIP_LEVEL = 1
"""Level 1: raw copies are cold data; CPU is the bottleneck in a Lambda and level 6 costs ~3x the time."""

EXTENSIONS: dict[str, str] = {"csv.gz": "csv.gz", "jsonl.gz": "jsonl.gz", "parquet": "parquet"}


class S3StreamUpload:
    """A write-only stream into one S3 object; hashes and counts the stored bytes as they go."""

    def __init__(self, s3: Any, bucket: str, key: str, content_type: str, chunk_size: int = MULTIPART_CHUNK) -> None:
        self._s3, self.bucket, self.key, self._content_type = s3, bucket, key, content_type
        self._chunk = chunk_size
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self.sha256 = hashlib.sha256()
        self.bytes = 0
        self.closed = False

    def write(self, data: bytes) -> None:
        if not data:
            return
        self.sha256.update(data)
        self.bytes += len(data)
        self._buffer += data
        if len(self._buffer) >= self._chunk:
            self._flush_part()

    def _flush_part(self) -> None:
        if self._upload_id is None:
            self._upload_id = self._s3.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ContentType=self._content_type
            )["UploadId"]
        number = len(self._parts) + 1
        resp = self._s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=bytes(self._buffer)
        )
        self._parts.append({"ETag": resp["ETag"], "PartNumber": number})
        self._buffer.clear()

    def close(self) -> None:
        if self.closed:
            return
        if self._upload_id is None:
            self._s3.put_object(
                Bucket=self.bucket, Key=self.key, Body=bytes(self._buffer), ContentType=self._content_type
            )
        else:
            if self._buffer:
                self._flush_part()
            self._s3.complete_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
            )
        self._buffer.clear()
        self.closed = True

    def abort(self) -> None:
        if self._upload_id is not None and not self.closed:
            self._s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id)
        self._buffer.clear()
        self.closed = True


class GzipStreamUpload:
    """Gzip (deterministic header: no name, mtime 0) into an S3StreamUpload."""

    def __init__(self, upload: S3StreamUpload) -> None:
        self.upload = upload
        self._gz = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)

    def write(self, data: bytes) -> None:
        self.upload.write(self._gz.compress(data))

    def close(self) -> None:
        self.upload.write(self._gz.flush())
        self.upload.close()

    def abort(self) -> None:
        self.upload.abort()


class RawDeleteError(RuntimeError):
    """S3 refused to delete some keys (DeleteObjects answers 200 and lists them as errors)."""


class RawWriter:
    """The raw prefix of one (dataset, ingest_date, run_id)."""

    def __init__(self, s3: Any, lake: Lake, dataset: str, ingest_date: date, run_id: str, raw_format: RawFormat):
        self.s3, self.lake, self.dataset, self.ingest_date, self.run_id = s3, lake, dataset, ingest_date, run_id
        self.format = raw_format
        self.bucket = lake.raw_bucket
        self.prefix = lake.raw_run_prefix(dataset, ingest_date, run_id)
        self.written_this_call: list[str] = []
        """Keys written by this call; removed again if the call fails."""

    # ------------------------------------------------------------------ parts
    def part_key(self, index: int) -> str:
        return self.lake.raw_part_key(self.dataset, self.ingest_date, self.run_id, index, EXTENSIONS[self.format])

    def _sidecar_key(self, index: int) -> str:
        return f"{self.prefix}_parts/part-{index:05d}.json"

    def open_gzip_part(self, index: int, content_type: str) -> GzipStreamUpload:
        key = self.part_key(index)
        self.written_this_call.append(key)
        return GzipStreamUpload(S3StreamUpload(self.s3, self.bucket, key, content_type))

    def finish_stream_part(self, index: int, stream: GzipStreamUpload, rows: int, **source: Any) -> RawFile:
        stream.close()
        up = stream.upload
        return self._record(
            index, RawFile(key=up.key, rows=rows, bytes=up.bytes, sha256=up.sha256.hexdigest(), **source)
        )

    def put_file_part(self, index: int, path: Path, rows: int, content_type: str) -> RawFile:
        """Upload a finished local file (Parquet) as part `index`."""
        key = self.part_key(index)
        self.written_this_call.append(key)
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1024 * 1024), b""):
                digest.update(block)
        self.s3.upload_file(str(path), self.bucket, key, ExtraArgs={"ContentType": content_type})
        return self._record(index, RawFile(key=key, rows=rows, bytes=path.stat().st_size, sha256=digest.hexdigest()))

    def _record(self, index: int, raw_file: RawFile) -> RawFile:
        sidecar = self._sidecar_key(index)
        self.written_this_call.append(sidecar)
        self.s3.put_object(
            Bucket=self.bucket, Key=sidecar, Body=raw_file.model_dump_json().encode(), ContentType="application/json"
        )
        return raw_file

    def parts(self) -> list[RawFile]:
        """Every part of this run (including earlier Lambda calls), in part order."""
        files: list[RawFile] = []
        for key in sorted(self._list(f"{self.prefix}_parts/")):
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            files.append(RawFile.model_validate_json(body))
        return files

    # ------------------------------------------------------------------ rejected source files
    def record_rejection(self, rejection: dict[str, Any]) -> None:
        """A sidecar `_rejected/<hash of source>.json`; kept when a later step of the call fails, like the move
        it records (a retry with the same cursor does not see the file again)."""
        name = hashlib.sha256(str(rejection["source"]).encode()).hexdigest()[:16]
        self.s3.put_object(
            Bucket=self.bucket,
            Key=f"{self.prefix}_rejected/{name}.json",
            Body=dump_json(rejection),
            ContentType="application/json",
        )

    def rejections(self) -> list[dict[str, Any]]:
        """Every source file this run rejected (earlier Lambda calls included), by source."""
        found = [
            json.loads(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
            for key in self._list(f"{self.prefix}_rejected/")
        ]
        return sorted(found, key=lambda r: str(r["source"]))

    # ------------------------------------------------------------------ manifest
    def read_manifest(self) -> RawManifest | None:
        key = self.lake.manifest_key(self.dataset, self.ingest_date, self.run_id)
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise
        return RawManifest.model_validate_json(body)

    def write_manifest(
        self,
        source: dict[str, Any],
        schema: list[SchemaField],
        previous: str | None,
        proposed: str | None,
    ) -> tuple[RawManifest, str]:
        files = self.parts()
        manifest = RawManifest(
            dataset=self.dataset,
            run_id=self.run_id,
            ingest_date=self.ingest_date,
            format=self.format,
            source=source,
            files=files,
            rows=sum(f.rows for f in files),
            bytes=sum(f.bytes for f in files),
            schema=schema,
            watermark=Watermark(previous=previous, proposed=proposed),
            created_at=datetime.now(UTC),
        )
        key = self.lake.manifest_key(self.dataset, self.ingest_date, self.run_id)
        self.s3.put_object(
            Bucket=self.bucket, Key=key, Body=manifest.to_json().encode(), ContentType="application/json"
        )
        return manifest, f"s3://{self.bucket}/{key}"

    # ------------------------------------------------------------------ cleanup
    def _list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return keys

    def _delete(self, keys: list[str]) -> None:
        failed: list[dict[str, Any]] = []
        for i in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[i : i + 1000]]
            answer = self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            failed += answer.get("Errors", [])
        if failed:
            # Per-key failures (AccessDenied without s3:DeleteObject) come in a 200: ignoring them would leave
            # stale parts that the next manifest lists.
            first = failed[0]
            raise RawDeleteError(
                f"DeleteObjects in s3://{self.bucket}/{self.prefix}: {len(failed)} of {len(keys)} key(s) not deleted, "
                f"first {first.get('Key')}: {first.get('Code')} ({first.get('Message')})"
            )

    def clear_run(self) -> None:
        """Remove leftovers of an earlier failed attempt of this run before starting afresh."""
        self._delete(self._list(self.prefix))

    def discard_this_call(self) -> None:
        """Undo this call's writes, so a failure leaves raw as it was (earlier calls' parts stay for a retry)."""
        self._delete(list(dict.fromkeys(self.written_this_call)))
        self.written_this_call.clear()


def dump_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode()
