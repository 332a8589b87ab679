"""Reading a CSV file as shops export it: the encoding its byte-order mark names, records with their line numbers,
a trailing delimiter, and rows with too many or too few fields.

One parser (Python's csv module over incrementally decoded lines) for everything that reads landing files, so
ingestion and anything that re-reads a raw CSV part count the same records on the same lines:
- `sniff_encoding`: a UTF-8 or UTF-16 (LE/BE) byte-order mark decides the encoding; without one, the configured
  encoding is used, and a file that looks like UTF-16 without a mark fails naming the encoding;
- `DecodedLines`: decoded physical lines (a quoted newline stays inside its record), every byte also handed to
  sinks first (hash, size, the raw copy), a decoding error reported with its line;
- `records`: (first line, fields) of every non-blank record;
- `Layout`: the header's column names without a trailing empty one (`a,b,c,`), and how many fields a row has
  after the same tolerance, so ragged rows can be told apart from a trailing delimiter.
"""

from __future__ import annotations

import codecs
import csv
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

MAX_FIELD_BYTES = 128 * 1024 * 1024
"""csv's default field limit is 128 KiB; real exports carry long free-text fields, so allow up to 128 MiB."""
SNIFF_BYTES = 4096

csv.field_size_limit(min(sys.maxsize, MAX_FIELD_BYTES))

BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16 BE"),
)
CODECS = {"utf-8": "utf-8-sig", "utf-8-sig": "utf-8-sig", "latin-1": "latin-1", "cp1252": "cp1252", "utf-16": "utf-16"}
"""Python codec per configured encoding; utf-8 accepts a byte-order mark (Excel writes one)."""


class CsvFormatError(ValueError):
    """The bytes cannot be read as the configured CSV. The message names the line (and column) when known."""


def looks_utf16(head: bytes) -> bool:
    """Text in UTF-16 without a mark: most of the even or of the odd bytes are NUL (ASCII-range characters)."""
    sample = head[: SNIFF_BYTES - SNIFF_BYTES % 2]
    if len(sample) < 4:
        return False
    half = len(sample) // 2
    return max(sample[0::2].count(0), sample[1::2].count(0)) > half * 0.6


def sniff_encoding(head: bytes, configured: str) -> tuple[str, str]:
    """(Python codec, what to call it) for a file starting with `head`."""
    for mark, codec, name in BYTE_ORDER_MARKS:
        if head.startswith(mark):
            return codec, name
    if configured == "utf-16":
        raise CsvFormatError(
            "line 1: the file has no byte-order mark, which encoding utf-16 needs to tell LE from BE; "
            "export it as UTF-16 with BOM, or as UTF-8"
        )
    if looks_utf16(head):
        raise CsvFormatError(
            f"line 1: the file looks like UTF-16 without a byte-order mark (every other byte is NUL), but the "
            f"source's encoding is {configured}; export it as UTF-16 with BOM, or as UTF-8"
        )
    if b"\x00" in head:
        raise CsvFormatError(f"line 1: the file contains NUL bytes, which no {configured} text has")
    return CODECS[configured], configured


@dataclass(frozen=True)
class Dialect:
    encoding: str
    delimiter: str = ","
    quotechar: str = '"'


class DecodedLines:
    """Decoded lines (each ending in \\n) of byte chunks that are first handed, unchanged, to `sinks`."""

    def __init__(self, chunks: Iterator[bytes], sinks: list[Callable[[bytes], None]], configured: str) -> None:
        self._chunks, self._sinks, self._configured = chunks, sinks, configured
        self.newlines = 0
        self.codec = self.encoding_name = ""
        self.error_line: int | None = None
        self.error_prefix = ""
        """The decoded text of the failing line before the undecodable bytes (to name the column)."""

    def _head(self) -> tuple[bytes, Iterator[bytes]]:
        head = b""
        for chunk in self._chunks:
            head += chunk
            if len(head) >= SNIFF_BYTES:
                break
        return head, self._chunks

    def __iter__(self) -> Iterator[str]:
        head, rest = self._head()
        self.codec, self.encoding_name = sniff_encoding(head, self._configured)
        decoder = codecs.getincrementaldecoder(self.codec)(errors="strict")
        carry = ""

        def pieces() -> Iterator[bytes]:
            if head:
                yield head
            yield from rest

        for chunk in pieces():
            for sink in self._sinks:
                sink(chunk)
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # The lines before the bad bytes still reach the parser (the header names the column).
                good = exc.object[: exc.start].decode(self.codec, errors="replace")
                self.error_line = self.newlines + good.count("\n") + 1
                parts = (carry + good).split("\n")
                self.error_prefix = parts.pop()
                for line in parts:
                    yield line + "\n"
                raise
            self.newlines += text.count("\n")
            parts = (carry + text).split("\n")
            carry = parts.pop()
            for line in parts:
                yield line + "\n"
        carry += decoder.decode(b"", final=True)
        if carry:
            yield carry


def records(lines: DecodedLines, dialect: Dialect) -> Iterator[tuple[int, list[str]]]:
    """(line the record starts on, fields) of every non-blank record; raises csv.Error on malformed quoting."""
    reader = csv.reader(lines, delimiter=dialect.delimiter, quotechar=dialect.quotechar, strict=True)
    previous_end = 0
    for fields in reader:
        start, previous_end = previous_end + 1, reader.line_num
        if fields:
            yield start, fields


def field_index(prefix: str, dialect: Dialect) -> int:
    """0-based field an undecodable byte sits in, from the decoded text of its line before it."""
    parsed = next(csv.reader([prefix], delimiter=dialect.delimiter, quotechar=dialect.quotechar), [""])
    return max(0, len(parsed) - 1)


@dataclass(frozen=True)
class Layout:
    """The header of one file, read the way its rows are read."""

    raw: tuple[str, ...]
    columns: tuple[str, ...]
    """Trimmed names, without a trailing empty one."""
    trailing_empty_column: bool

    @classmethod
    def of(cls, header: list[str]) -> Layout:
        names = [h.strip() for h in header]
        if names and names[0].startswith("\ufeff"):
            names[0] = names[0].lstrip("\ufeff").strip()
        trailing = len(names) > 1 and names[-1] == ""
        return cls(tuple(header), tuple(names[:-1] if trailing else names), trailing)

    def width(self, fields: list[str]) -> int:
        """Fields a row carries for the columns: one trailing empty field beyond them (`1,2,3,`) is not data."""
        if len(fields) == len(self.columns) + 1 and fields[-1] == "":
            return len(self.columns)
        return len(fields)

    def name_of(self, index: int) -> str:
        return self.columns[index] if index < len(self.columns) else f"#{index + 1} (beyond the header)"
