"""CSV files from the landing prefix, another S3 prefix or an https URL, copied byte-exact (gzip) into raw.

Each file is streamed once: the bytes go to a sha256, to a gzip multipart upload and, decoded in the encoding its
byte-order mark (or the config) names, through the parser of csv_format.py, which checks the header against the
contract and counts records and ragged rows (a quoted newline is part of a record, not a new one). Memory stays
bounded by the chunk size and the longest record. One file is one part and one chunk: the time budget is checked
between files.

One bad file never stops the rest: a file that cannot be read as the contract's CSV (empty, undecodable,
malformed quoting, a header without a required column, with duplicate or, under schema_drift freeze, unknown
columns, or with other columns than the run's first file) is rejected. A landing/ file in the raw bucket is moved
to `rejected/<dataset>/ingest_date=D/run_id=R/<name>` with `<name>.reason.json`; a file the pipeline may not
delete (another bucket, a URL, a local directory) stays and is rejected again until it changes. Either way the
manifest lists it under `source.rejected` and the run ends with a warning, not a failure.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import requests
from botocore.exceptions import ClientError

from dataplatform.config.models import Contract, CsvSource, Dataset
from dataplatform.ingest.base import IngestError, Progress, SourceJob, SourceServices
from dataplatform.ingest.csv_format import CsvFormatError, DecodedLines, Dialect, Layout, field_index, records
from dataplatform.ingest.landing_files import (
    CHUNK,
    PRECONDITION_CODES,
    LandingChanged,
    LandingFile,
    list_landing,
    open_landing,
)
from dataplatform.ingest.raw_writer import GzipStreamUpload
from dataplatform.layout import Lake, split_s3_uri
from dataplatform.manifest import CsvPart, SchemaField
from dataplatform.state import StateStore

DELIMITER_CANDIDATES = ",;\t|"
RAGGED_LINES_KEPT = 100

__all__ = ["CHUNK", "CsvExtractor", "CsvValidationError", "check_header", "copy_csv", "list_landing", "open_landing"]


class CsvValidationError(IngestError):
    """A landing file does not match the contract or the configured format. One line: file, line, column."""

    def __init__(self, name: str, problem: str, line: int | None = None, column: str | None = None) -> None:
        self.name, self.problem, self.line, self.column = name, problem, line, column
        where = "".join([f": line {line}" if line else "", f": column {column!r}" if column else ""])
        super().__init__(f"{name}{where}: {problem}")


@dataclass
class CopyStats:
    rows: int
    source_bytes: int
    source_sha256: str
    layout: Layout
    encoding: str
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    ragged_rows: int = 0
    ragged_lines: list[int] = field(default_factory=list)

    @property
    def header(self) -> list[str]:
        return list(self.layout.columns)

    def part(self) -> CsvPart:
        return CsvPart(
            encoding=self.encoding,
            header=self.header,
            trailing_empty_column=self.layout.trailing_empty_column,
            ragged_rows=self.ragged_rows,
            ragged_lines=self.ragged_lines,
        )


def check_header(
    name: str, layout: Layout, source: CsvSource, contract: Contract, first: list[str] | None = None
) -> tuple[list[str], list[str]]:
    """(missing nullable columns, extra columns); raises CsvValidationError when the header is unusable.

    `first`: the header of the run's first accepted file; a file with other columns, or the same in another
    order, would not line up with it in one read of the run's parts.
    """
    expected = [c.source_name for c in contract.columns]
    found = list(layout.columns)
    duplicates = sorted({h for h in found if found.count(h) > 1})
    if duplicates:
        raise CsvValidationError(name, "duplicate column name in the header", 1, duplicates[0])
    if "" in found:
        raise CsvValidationError(name, f"a header field is empty (column {found.index('') + 1} of {found})", 1)
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
            name,
            f"missing contract column(s) {', '.join(required)}; header has {found}, contract expects {expected}{hint}",
            1,
            required[0],
        )
    extra = [h for h in found if h not in expected]
    if extra and contract.schema_drift == "freeze":
        raise CsvValidationError(
            name, f"unexpected column(s) {', '.join(extra)} not in the contract (schema_drift: freeze)", 1, extra[0]
        )
    if first is not None and found != first:
        raise CsvValidationError(
            name, f"the columns differ from the run's first file: {found} instead of {first} (reordered or missing)", 1
        )
    return [c.source_name for c in missing], extra


def copy_csv(
    chunks: Iterator[bytes],
    name: str,
    sink: GzipStreamUpload,
    source: CsvSource,
    contract: Contract,
    first: list[str] | None = None,
) -> CopyStats:
    """Stream one file into `sink` (byte-exact) while validating it. The caller aborts the sink on error."""
    digest = hashlib.sha256()
    size = 0

    def count(chunk: bytes) -> None:
        nonlocal size
        size += len(chunk)

    lines = DecodedLines(chunks, [digest.update, count, sink.write], source.encoding)
    dialect = Dialect(source.encoding, source.delimiter, source.quotechar)
    rows = ragged = 0
    ragged_lines: list[int] = []
    layout: Layout | None = None
    missing: list[str] = []
    extra: list[str] = []
    try:
        for line, fields in records(lines, dialect):
            if layout is None:
                layout = Layout.of(fields)
                missing, extra = check_header(name, layout, source, contract, first)
                continue
            rows += 1
            if layout.width(fields) != len(layout.columns):
                ragged += 1
                if len(ragged_lines) < RAGGED_LINES_KEPT:
                    ragged_lines.append(line)
    except CsvFormatError as exc:
        line_text, _, problem = str(exc).partition(": ")
        raise CsvValidationError(name, problem, int(line_text.removeprefix("line "))) from None
    except UnicodeDecodeError as exc:
        column = layout.name_of(field_index(lines.error_prefix, dialect)) if layout else None
        raise CsvValidationError(
            name,
            f"bytes are not valid {lines.encoding_name} ({exc.reason}); set the source's encoding (utf-8, "
            "cp1252, latin-1 or utf-16) to match the file",
            lines.error_line,
            column,
        ) from None
    except csv.Error as exc:
        raise CsvValidationError(name, f"malformed CSV: {exc}", lines.newlines or None) from None
    if layout is None:
        expected = [c.source_name for c in contract.columns]
        what = "the file is empty (0 bytes)" if size == 0 else "the file has no header line"
        raise CsvValidationError(name, f"{what}; expected a header line with {expected}")
    return CopyStats(rows, size, digest.hexdigest(), layout, lines.codec, missing, extra, ragged, ragged_lines)


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
        pos.setdefault("first", None)
        pos.setdefault("deferred", [])
        pending = [
            f
            for f in list_landing(self.s3, self.source, self.lake, self.http)
            if (pos["after"] is None or f.source > pos["after"]) and not self._already_processed(job, f)
        ]
        for i, landing in enumerate(pending):
            try:
                stats = self._copy(job, landing, pos["first"])
            except CsvValidationError as exc:
                self._reject(job, landing, exc)
            except LandingChanged:
                pos["deferred"].append(landing.source)
            else:
                pos["first"] = pos["first"] or stats.header
                for column in stats.header:
                    if column not in pos["columns"]:
                        pos["columns"].append(column)
                pos["missing"] = sorted(set(pos["missing"]) | set(stats.missing))
                pos["extra"] = sorted(set(pos["extra"]) | set(stats.extra))
                if landing.last_modified and (pos["latest"] is None or landing.last_modified > pos["latest"]):
                    pos["latest"] = landing.last_modified
            pos["after"] = landing.source
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
                "rejected": job.writer.rejections(),
                "deferred": pos["deferred"],
            },
        )

    def _already_processed(self, job: SourceJob, landing: LandingFile) -> bool:
        """A version a committed run ingested is skipped and, in landing/ of the raw bucket, removed: its
        byte-exact copy is in raw, and the landing listing stays as small as the files not yet ingested."""
        if not StateStore(self.s3, self.lake).is_processed(job.dataset, landing.source, landing.etag):
            return False
        if landing.source.startswith("s3://"):
            bucket, key = split_s3_uri(landing.source)
            if bucket == self.lake.raw_bucket and key.startswith("landing/"):
                try:
                    self.s3.delete_object(Bucket=bucket, Key=key, IfMatch=f'"{landing.etag}"')
                except ClientError as exc:
                    if exc.response["Error"]["Code"] not in PRECONDITION_CODES:
                        raise  # else a new version just landed: it stays
        return True

    def _copy(self, job: SourceJob, landing: LandingFile, first: list[str] | None) -> CopyStats:
        index = job.next_part
        sink = job.writer.open_gzip_part(index, "application/gzip")
        try:
            chunks, close = open_landing(self.s3, landing, self.http)
        except BaseException:
            sink.abort()
            raise
        try:
            stats = copy_csv(chunks, landing.source, sink, self.source, self.contract, first)
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
            csv=stats.part(),
        )
        job.part_written(raw_file)
        return stats

    # ------------------------------------------------------------------ rejection
    def _reject(self, job: SourceJob, landing: LandingFile, error: CsvValidationError) -> None:
        moved_to = self._move_to_rejected(job, landing, str(error))
        job.writer.record_rejection(
            {
                "source": landing.source,
                "etag": landing.etag,
                "reason": str(error),
                "line": error.line,
                "column": error.column,
                "moved_to": moved_to,
            }
        )

    def _move_to_rejected(self, job: SourceJob, landing: LandingFile, reason: str) -> str | None:
        """The rejected prefix's copy of a landing/ file of the raw bucket, which is then removed from landing.

        Both steps are conditional on the listed ETag: a file replaced in the meantime is left where it is.
        """
        if not landing.source.startswith("s3://"):
            return None
        bucket, key = split_s3_uri(landing.source)
        if bucket != self.lake.raw_bucket or not key.startswith("landing/"):
            return None
        request = job.request
        # The path below the dataset's landing prefix, so files of the same name in subfolders stay apart.
        relative = (
            key.removeprefix(self.source.location.rstrip("/") + "/")
            if self.source.location.startswith("landing/")
            else landing.name
        )
        target = self.lake.rejected_key(job.dataset, request.ingest_date, request.run_id, relative)
        condition = {"CopySourceIfMatch": f'"{landing.etag}"'} if landing.etag else {}
        try:
            self.s3.copy({"Bucket": bucket, "Key": key}, bucket, target, ExtraArgs=condition)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in PRECONDITION_CODES:
                return None  # replaced since it was listed: the new version is judged by the next run
            raise
        note = {"source": landing.source, "etag": landing.etag, "reason": reason, "run_id": request.run_id}
        self.s3.put_object(
            Bucket=bucket, Key=f"{target}.reason.json", Body=json.dumps(note).encode(), ContentType="application/json"
        )
        try:
            self.s3.delete_object(Bucket=bucket, Key=key, **({"IfMatch": f'"{landing.etag}"'} if landing.etag else {}))
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in PRECONDITION_CODES:
                raise  # else: a new version landed after the copy and stays for the next run
        return f"s3://{bucket}/{target}"
