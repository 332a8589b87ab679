"""The raw manifest: the contract between ingestion (writes it) and standardization (reads it)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RawFormat = Literal["csv.gz", "jsonl.gz", "parquet"]


class CsvPart(BaseModel):
    """How one CSV part reads (see dataplatform/ingest/csv_format.py): what a reader of the raw copy needs."""

    model_config = ConfigDict(extra="forbid")
    encoding: str
    """Python codec that decodes it: utf-8-sig, latin-1, cp1252 or utf-16 (its byte-order mark decides)."""
    header: list[str]
    """Column names as in the file's header, trimmed, without a trailing empty one."""
    trailing_empty_column: bool = False
    """Every line may end with one extra delimiter (an empty last field); it is not a column."""
    ragged_rows: int = 0
    """Rows whose field count differs from the header's; they go to quarantine, never padded or cut."""
    ragged_lines: list[int] = []
    """First lines of the first ragged rows (at most 100), for messages."""


class RawFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    rows: int
    bytes: int
    sha256: str
    """Of the stored object's bytes. For csv.gz, `source_sha256` is of the original, uncompressed file."""
    source: str | None = None
    """Where this part came from (landing key or URL), when there is one file per source object."""
    source_etag: str | None = None
    source_sha256: str | None = None
    csv: CsvPart | None = None


class SchemaField(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    type: str


class Watermark(BaseModel):
    model_config = ConfigDict(extra="forbid")
    previous: str | None = None
    """State value the extract started from."""
    proposed: str | None = None
    """Value the state advances to once this run's curated write succeeds (committed separately)."""


class RawManifest(BaseModel):
    dataset: str
    run_id: str
    ingest_date: date
    format: RawFormat
    source: dict[str, Any]
    """kind plus what identifies the origin (location/url/table) and format options (encoding, delimiter)."""
    files: list[RawFile]
    rows: int
    bytes: int
    schema_: list[SchemaField] = Field(default=[], alias="schema")
    watermark: Watermark = Watermark()
    created_at: datetime

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)
