"""Writes one run's raw parts and its `_manifest.json` into the raw zone.

Parts are streamed to S3 (multipart upload once a buffer fills), so memory stays bounded whatever the size.
Each part gets a small sidecar `_parts/part-NNNNN.json` (rows, sha256, source) so a continued run can list the
parts written by earlier Lambda calls without carrying them in the (256 KB-limited) continuation cursor.
Spark and Athena ignore files and folders that start with `_`.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from dataplatform.layout import Lake
from dataplatform.lease import UNNAMED_OWNER
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


class RawPartMismatchError(RuntimeError):
    """A stored part is not what its sidecar says: another writer changed the run's raw prefix."""


def verify_part(s3: Any, bucket: str, raw_file: RawFile) -> None:
    obj = s3.get_object(Bucket=bucket, Key=raw_file.key)
    digest, size = hashlib.sha256(), 0
    for block in obj["Body"].iter_chunks(1024 * 1024):
        digest.update(block)
        size += len(block)
    if size != raw_file.bytes or digest.hexdigest() != raw_file.sha256:
        raise RawPartMismatchError(
            f"s3://{bucket}/{raw_file.key}: its sidecar says {raw_file.bytes} bytes, sha256 {raw_file.sha256[:12]}..., "
            f"the stored object has {size} bytes, sha256 {digest.hexdigest()[:12]}...; another writer changed this "
            "run's raw data, so no manifest is written"
        )


OWNER_METADATA = "owner"
"""S3 user metadata of a sidecar (`x-amz-meta-owner`): the execution that wrote the part."""

PART_NAME = re.compile(r"^(?:_parts/)?part-(\d{5})\.")


def part_number(name: str) -> int | None:
    """N of `part-NNNNN.<ext>` or `_parts/part-NNNNN.json` (relative to the run prefix); None for other keys."""
    match = PART_NAME.match(name)
    return int(match.group(1)) if match else None


class RawDeleteError(RuntimeError):
    """S3 refused to delete some keys (DeleteObjects answers 200 and lists them as errors)."""


class RawWriter:
    """The raw prefix of one (dataset, ingest_date, run_id)."""

    def __init__(
        self,
        s3: Any,
        lake: Lake,
        dataset: str,
        ingest_date: date,
        run_id: str,
        raw_format: RawFormat,
        owner: str = UNNAMED_OWNER,
    ) -> None:
        self.s3, self.lake, self.dataset, self.ingest_date, self.run_id = s3, lake, dataset, ingest_date, run_id
        self.format = raw_format
        self.owner = owner
        """The execution writing (the lease holder): each sidecar carries it, so a part of another writer is seen."""
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
            Bucket=self.bucket,
            Key=sidecar,
            Body=raw_file.model_dump_json().encode(),
            ContentType="application/json",
            Metadata={OWNER_METADATA: self.owner},
        )
        return raw_file

    def _sidecars(self) -> list[tuple[RawFile, str | None]]:
        """Every part's sidecar (earlier Lambda calls' included), in part order, with the writer it names."""
        found: list[tuple[RawFile, str | None]] = []
        for key in sorted(self._list(f"{self.prefix}_parts/")):
            obj = self.s3.get_object(Bucket=self.bucket, Key=key)
            found.append((RawFile.model_validate_json(obj["Body"].read()), obj.get("Metadata", {}).get(OWNER_METADATA)))
        return found

    def parts(self) -> list[RawFile]:
        """Every part of this run (including earlier Lambda calls), in part order."""
        return [raw_file for raw_file, _ in self._sidecars()]

    def verified_parts(self) -> list[RawFile]:
        """`parts()`, each written by this writer's owner and checked against the stored object: its size and
        sha256 must be the sidecar's.

        A part of another execution (one that still wrote after losing its lease), a part rewritten by another
        writer, or a sidecar left by a call that died must not enter the manifest (its rows would be lost, or
        counted twice); reading the parts back costs one GET each, streamed.
        """
        files: list[RawFile] = []
        for raw_file, writer in self._sidecars():
            if writer is not None and writer != self.owner:
                raise RawPartMismatchError(
                    f"s3://{self.bucket}/{raw_file.key} was written by execution {writer}, not {self.owner}: another "
                    "writer changed this run's raw data, so no manifest is written"
                )
            verify_part(self.s3, self.bucket, raw_file)
            files.append(raw_file)
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
        files: list[RawFile] | None = None,
    ) -> tuple[RawManifest, str]:
        """The manifest of `files` (already verified by the caller), or of every part, verified now."""
        files = self.verified_parts() if files is None else files
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

    def clear_parts_from(self, index: int) -> None:
        """Remove parts and sidecars numbered `index` or higher: what a call that died (a Lambda timeout kills
        it before it can undo its writes) left behind; the retried call writes those numbers again."""
        leftovers = [
            key
            for key in self._list(self.prefix)
            if (number := part_number(key[len(self.prefix) :])) is not None and number >= index
        ]
        self._delete(leftovers)

    def discard_this_call(self) -> None:
        """Undo this call's writes, so a failure leaves raw as it was (earlier calls' parts stay for a retry)."""
        self._delete(list(dict.fromkeys(self.written_this_call)))
        self.written_this_call.clear()


def dump_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode()
