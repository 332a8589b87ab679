"""CSV files from the landing prefix, another S3 prefix or an https URL, copied byte-exact (gzip) into raw.

Each file is streamed once: the bytes go to a sha256, to a gzip multipart upload and, decoded with the configured
encoding, through Python's csv parser, which checks the header against the contract and counts records (a quoted
newline is part of a record, not a new one). Memory stays bounded by the chunk size and the longest record.
One file is one part and one chunk: the time budget is checked between files.
"""

from __future__ import annotations

import codecs
import csv
import fnmatch
import hashlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import requests

from dataplatform.config.models import Contract, CsvSource, Dataset
from dataplatform.ingest.base import IngestError, Progress, SourceJob, SourceServices
from dataplatform.ingest.raw_writer import GzipStreamUpload
from dataplatform.layout import Lake, split_s3_uri
from dataplatform.manifest import SchemaField
from dataplatform.state import StateStore

CHUNK = 1024 * 1024
MAX_FIELD_BYTES = 128 * 1024 * 1024
"""csv's default field limit is 128 KiB; real exports carry long free-text fields, so allow up to 128 MiB."""
DELIMITER_CANDIDATES = ",;\t|"

csv.field_size_limit(min(sys.maxsize, MAX_FIELD_BYTES))


class CsvValidationError(IngestError):
    """A landing file does not match the contract or the configured format. Names the file and line."""


@dataclass(frozen=True)
class LandingFile:
    source: str
    """s3://bucket/key or the URL."""
    etag: str | None
    last_modified: str | None


@dataclass
class CopyStats:
    rows: int
    source_bytes: int
    source_sha256: str
    header: list[str]
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)


class _Lines:
    """Decoded lines (each ending in \\n, so a quoted newline stays inside its record) of tee'd byte chunks.

    Every chunk goes to `sinks` (hash, size, gzip upload) before it is decoded, so the raw copy is byte-exact.
    A decoding error is reported with the physical line it occurred on.
    """

    def __init__(self, chunks: Iterator[bytes], sinks: list[Callable[[bytes], None]], encoding: str) -> None:
        self._chunks, self._sinks = chunks, sinks
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        self.newlines = 0
        self.error_line: int | None = None

    def __iter__(self) -> Iterator[str]:
        carry = ""
        for chunk in self._chunks:
            for sink in self._sinks:
                sink(chunk)
            try:
                text = self._decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                self.error_line = self.newlines + exc.object[: exc.start].count(b"\n") + 1
                raise
            self.newlines += text.count("\n")
            parts = (carry + text).split("\n")
            carry = parts.pop()
            for line in parts:
                yield line + "\n"
        carry += self._decoder.decode(b"", final=True)
        if carry:
            yield carry


def _decoding(encoding: str) -> str:
    # utf-8 accepts a byte-order mark too (Excel writes one); the raw copy keeps the bytes as they were.
    return "utf-8-sig" if encoding in ("utf-8", "utf-8-sig") else encoding


def check_header(name: str, header: list[str], source: CsvSource, contract: Contract) -> tuple[list[str], list[str]]:
    """Returns (missing nullable columns, extra columns); raises CsvValidationError when the header is unusable."""
    expected = [c.source_name for c in contract.columns]
    found = [h.strip() for h in header]
    duplicates = sorted({h for h in found if found.count(h) > 1})
    if duplicates:
        raise CsvValidationError(f"{name}: line 1: duplicate column(s) {', '.join(duplicates)} in the header")
    missing = [c for c in contract.columns if c.source_name not in found]
    required = [c.source_name for c in missing if not c.nullable]
    if required:
        hint = ""
        if len(found) == 1:
            other = [d for d in DELIMITER_CANDIDATES if d != source.delimiter and d in found[0]]
            if other:
                hint = (
                    f"; the header looks {other[0]!r}-delimited but the source is configured with "
                    f"delimiter {source.delimiter!r}"
                )
        raise CsvValidationError(
            f"{name}: line 1: missing contract column(s) {', '.join(required)}; header has {found}, "
            f"contract expects {expected}{hint}"
        )
    extra = [h for h in found if h not in expected]
    if extra and contract.schema_drift == "freeze":
        raise CsvValidationError(
            f"{name}: line 1: unexpected column(s) {', '.join(extra)} not in the contract (schema_drift: freeze)"
        )
    return [c.source_name for c in missing], extra


def copy_csv(
    chunks: Iterator[bytes], name: str, sink: GzipStreamUpload, source: CsvSource, contract: Contract
) -> CopyStats:
    """Stream one file into `sink` (byte-exact) while validating it. The caller aborts the sink on error."""
    digest = hashlib.sha256()
    size = 0

    def count(chunk: bytes) -> None:
        nonlocal size
        size += len(chunk)

    lines = _Lines(chunks, [digest.update, count, sink.write], _decoding(source.encoding))
    reader = csv.reader(lines, delimiter=source.delimiter, quotechar=source.quotechar, strict=True)
    rows = 0
    header: list[str] | None = None
    missing: list[str] = []
    extra: list[str] = []
    try:
        for record in reader:
            if not record:
                continue  # blank line
            if header is None:
                header = record
                missing, extra = check_header(name, header, source, contract)
                continue
            rows += 1
    except UnicodeDecodeError as exc:
        raise CsvValidationError(
            f"{name}: line {lines.error_line}: bytes are not valid {source.encoding} ({exc.reason}); "
            "set the source's encoding (utf-8, utf-8-sig or latin-1) to match the file"
        ) from exc
    except csv.Error as exc:
        raise CsvValidationError(f"{name}: line {reader.line_num}: malformed CSV: {exc}") from exc
    if header is None:
        expected = [c.source_name for c in contract.columns]
        raise CsvValidationError(f"{name}: the file is empty; expected a header line with {expected}")
    return CopyStats(rows, size, digest.hexdigest(), [h.strip() for h in header], missing, extra)


# ---------------------------------------------------------------------------------------------- locations


def landing_location(source: CsvSource, lake: Lake) -> tuple[str, str] | None:
    """(bucket, prefix) for S3 locations, None for a URL."""
    access = source.access()
    if access.landing_prefix:
        return lake.raw_bucket, access.landing_prefix
    return access.external_s3


def list_local_directory(source: CsvSource) -> list[LandingFile]:
    """Local runs only: the files of a directory on this machine; a file's identity is its size and mtime."""
    directory = Path(source.location)
    if not directory.is_dir():
        raise IngestError(f"{source.location}: no such directory (the CSV source's location)")
    files = []
    for path in sorted(directory.iterdir()):
        if path.is_file() and fnmatch.fnmatch(path.name, source.pattern):
            stat = path.stat()
            modified = datetime.fromtimestamp(stat.st_mtime, UTC).isoformat()
            files.append(LandingFile(path.as_uri(), f"{stat.st_size}-{stat.st_mtime_ns}", modified))
    return files


def list_landing(s3: Any, source: CsvSource, lake: Lake, http: requests.Session) -> list[LandingFile]:
    if source.is_local_directory:
        return list_local_directory(source)
    location = landing_location(source, lake)
    if location is None:
        # One file behind a URL: its identity is the ETag (or Last-Modified) the server reports.
        resp = http.head(source.location, timeout=30, allow_redirects=True)
        if resp.status_code >= 400:
            raise IngestError(f"HEAD {source.location}: HTTP {resp.status_code}")
        etag = resp.headers.get("ETag") or resp.headers.get("Last-Modified")
        return [LandingFile(source.location, etag.strip('"') if etag else None, resp.headers.get("Last-Modified"))]
    bucket, prefix = location
    files: list[LandingFile] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if key.endswith("/") or not fnmatch.fnmatch(key.rsplit("/", 1)[-1], source.pattern):
                continue
            files.append(LandingFile(f"s3://{bucket}/{key}", obj["ETag"].strip('"'), obj["LastModified"].isoformat()))
    return sorted(files, key=lambda f: f.source)


def open_landing(s3: Any, landing: LandingFile, http: requests.Session) -> tuple[Iterator[bytes], Callable[[], None]]:
    """(chunks, close) of one landing file; S3 reads are pinned to the listed ETag."""
    if landing.source.startswith("file://"):
        handle = open(url2pathname(urlsplit(landing.source).path), "rb")  # noqa: SIM115 (closed by the caller)
        return iter(lambda: handle.read(CHUNK), b""), handle.close
    if landing.source.startswith("s3://"):
        bucket, key = split_s3_uri(landing.source)
        extra = {"IfMatch": f'"{landing.etag}"'} if landing.etag else {}
        body = s3.get_object(Bucket=bucket, Key=key, **extra)["Body"]
        return body.iter_chunks(CHUNK), body.close
    resp = http.get(landing.source, stream=True, timeout=60)
    if resp.status_code >= 400:
        resp.close()
        raise IngestError(f"GET {landing.source}: HTTP {resp.status_code}")
    return resp.iter_content(CHUNK), resp.close


# ---------------------------------------------------------------------------------------------- source


class CsvExtractor:
    def __init__(
        self, source: CsvSource, contract: Contract, s3: Any, lake: Lake, http: requests.Session | None = None
    ) -> None:
        self.source, self.contract, self.s3, self.lake = source, contract, s3, lake
        self.http = http or requests.Session()

    @classmethod
    def for_dataset(cls, dataset: Dataset, services: SourceServices) -> CsvExtractor:
        if not isinstance(dataset.source, CsvSource):
            raise TypeError(f"CsvExtractor cannot ingest a {dataset.source.kind} source")
        return cls(dataset.source, dataset.contract, services.s3, services.lake)

    def run(self, job: SourceJob) -> Progress:
        pos = job.position or {"after": None, "columns": [], "missing": [], "extra": [], "latest": None}
        processed = StateStore(self.s3, self.lake).processed_sources(job.dataset)
        pending = [
            f
            for f in list_landing(self.s3, self.source, self.lake, self.http)
            if (f.source, f.etag) not in processed and (pos["after"] is None or f.source > pos["after"])
        ]
        for i, landing in enumerate(pending):
            stats = self._copy(job, landing)
            pos["after"] = landing.source
            for column in stats.header:
                if column not in pos["columns"]:
                    pos["columns"].append(column)
            pos["missing"] = sorted(set(pos["missing"]) | set(stats.missing))
            pos["extra"] = sorted(set(pos["extra"]) | set(stats.extra))
            if landing.last_modified and (pos["latest"] is None or landing.last_modified > pos["latest"]):
                pos["latest"] = landing.last_modified
            if i < len(pending) - 1 and job.budget.exhausted():
                return Progress(done=False, position=pos)
        return Progress(
            done=True,
            proposed_watermark=pos["latest"] or job.previous_watermark,
            schema=[SchemaField(name=c, type="string") for c in pos["columns"]],
            source_info={
                "kind": "csv",
                "location": self.source.location,
                "pattern": self.source.pattern,
                "encoding": self.source.encoding,
                "delimiter": self.source.delimiter,
                "quotechar": self.source.quotechar,
                "header": True,
                "missing_columns": pos["missing"],
                "extra_columns": pos["extra"],
            },
        )

    def _copy(self, job: SourceJob, landing: LandingFile) -> CopyStats:
        index = job.next_part
        sink = job.writer.open_gzip_part(index, "application/gzip")
        chunks, close = open_landing(self.s3, landing, self.http)
        try:
            stats = copy_csv(chunks, landing.source, sink, self.source, self.contract)
        except BaseException:
            sink.abort()
            raise
        finally:
            close()
        raw_file = job.writer.finish_stream_part(
            index,
            sink,
            stats.rows,
            source=landing.source,
            source_etag=landing.etag,
            source_sha256=stats.source_sha256,
        )
        job.part_written(raw_file)
        return stats
