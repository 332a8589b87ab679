"""CSV parsing, counting and header checks without AWS: chunk boundaries anywhere, encodings, header rules."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from dataplatform.config.models import Contract, CsvSource
from dataplatform.ingest.csv_format import Layout
from dataplatform.ingest.csv_source import CsvValidationError, check_header, copy_csv

CONTRACT = Contract.model_validate(
    {
        "key": ["id"],
        "partition_column": "day",
        "columns": [
            {"name": "id", "source": "ID", "type": "string", "nullable": False},
            {"name": "note", "source": "Note", "type": "string"},
            {"name": "day", "source": "Day", "type": "date", "nullable": False},
        ],
    }
)
SOURCE = CsvSource(kind="csv", location="landing/x/")


class MemorySink:
    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.parts.append(data)

    @property
    def data(self) -> bytes:
        return b"".join(self.parts)


def chunks(data: bytes, size: int) -> Iterator[bytes]:
    return iter([data[i : i + size] for i in range(0, len(data), size)] or [b""])


DATA = 'ID,Note,Day\r\n1,"multi\r\nline ""quoted""",2024-01-01\r\n\r\n2,café,2024-01-02\r\n3,,2024-01-03'.encode()


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1 << 20])
def test_counts_and_copies_identically_whatever_the_chunking(size: int) -> None:
    sink = MemorySink()
    stats = copy_csv(chunks(DATA, size), "f.csv", sink, SOURCE, CONTRACT)  # type: ignore[arg-type]
    assert stats.rows == 3  # quoted CRLF inside a field, a blank line, no final newline
    assert sink.data == DATA
    assert stats.source_sha256 == hashlib.sha256(DATA).hexdigest() and stats.source_bytes == len(DATA)
    assert stats.header == ["ID", "Note", "Day"]


def test_decode_error_line_is_exact_across_chunks() -> None:
    data = b"ID,Note,Day\n1,a,2024-01-01\n2,a,2024-01-01\n3,\xff,2024-01-01\n"
    for size in (1, 5, 1 << 20):
        with pytest.raises(CsvValidationError, match=r"f.csv: line 4: column 'Note': bytes are not valid utf-8"):
            copy_csv(chunks(data, size), "f.csv", MemorySink(), SOURCE, CONTRACT)  # type: ignore[arg-type]


def test_a_multibyte_character_split_across_chunks_is_fine() -> None:
    data = "ID,Note,Day\n1,日本語,2024-01-01\n".encode()
    stats = copy_csv(chunks(data, 1), "f.csv", MemorySink(), SOURCE, CONTRACT)  # type: ignore[arg-type]
    assert stats.rows == 1


def test_bom_is_not_part_of_the_first_column_name() -> None:
    data = b"\xef\xbb\xbfID,Note,Day\n1,a,2024-01-01\n"
    stats = copy_csv(chunks(data, 2), "f.csv", MemorySink(), SOURCE, CONTRACT)  # type: ignore[arg-type]
    assert stats.header[0] == "ID" and stats.rows == 1


def test_header_rules() -> None:
    def check(header: list[str], contract: Contract = CONTRACT, first: list[str] | None = None) -> Any:
        return check_header("f", Layout.of(header), SOURCE, contract, first)

    evolve = CONTRACT.model_copy(update={"schema_drift": "evolve"})
    assert check(["ID", "Note", "Day"]) == ([], [])
    assert check([" ID ", "Day"]) == (["Note"], [])  # nullable may be missing
    assert check(["ID", "Day", "Extra"], evolve) == (["Note"], ["Extra"])
    assert check(["ID", "Note", "Day", ""]) == ([], [])  # a trailing delimiter is not a column
    with pytest.raises(CsvValidationError, match=r"f: line 1: column 'ID': duplicate column name"):
        check(["ID", "ID", "Day"])
    with pytest.raises(CsvValidationError, match=r"'ID': missing contract column\(s\) ID, Day.*looks '\\t'"):
        check(["ID\tNote\tDay"])
    with pytest.raises(CsvValidationError, match=r"column 'Extra': unexpected column\(s\) Extra"):
        check(["ID", "Note", "Day", "Extra"])  # freeze is the default
    with pytest.raises(CsvValidationError, match=r"a header field is empty"):
        check(["ID", "", "Day"])
    with pytest.raises(CsvValidationError, match=r"columns differ from the run's first file.*reordered or missing"):
        check(["Day", "ID", "Note"], first=["ID", "Note", "Day"])


def test_gzip_of_the_sink_output_round_trips() -> None:
    from dataplatform.ingest.raw_writer import GzipStreamUpload

    class Upload:
        def __init__(self) -> None:
            self.data = b""

        def write(self, b: bytes) -> None:
            self.data += b

        def close(self) -> None:
            return

    upload = Upload()
    sink = GzipStreamUpload(upload)  # type: ignore[arg-type]
    copy_csv(chunks(DATA, 3), "f.csv", sink, SOURCE, CONTRACT)
    sink.close()
    assert gzip.decompress(upload.data) == DATA
    assert upload.data[4:8] == b"\x00\x00\x00\x00"  # mtime 0: the same input always gives the same bytes


UTF16 = 'ID,Note,Day\r\n1,"multi\r\nline",2024-01-01\r\n2,ünïcødé,2024-01-02,\r\n3,short\r\n'.encode("utf-16")


@pytest.mark.parametrize("size", [1, 3, 64, 1 << 20])
def test_utf16_with_bom_whatever_the_chunking(size: int) -> None:
    sink = MemorySink()
    stats = copy_csv(chunks(UTF16, size), "f.csv", sink, SOURCE, CONTRACT)  # type: ignore[arg-type]
    assert sink.data == UTF16 and stats.encoding == "utf-16"
    assert stats.rows == 3 and stats.header == ["ID", "Note", "Day"]
    assert (stats.ragged_rows, stats.ragged_lines) == (1, [5])  # '3,short' is short; '2,...,' only trails


def test_sniffing_names_the_encoding() -> None:
    from dataplatform.ingest.csv_format import CsvFormatError, sniff_encoding

    assert sniff_encoding(b"\xef\xbb\xbfID", "latin-1") == ("utf-8-sig", "UTF-8")
    assert sniff_encoding(b"\xfe\xff\x00I", "utf-8") == ("utf-16", "UTF-16 BE")
    assert sniff_encoding("ID,Day".encode("cp1252"), "cp1252") == ("cp1252", "cp1252")
    with pytest.raises(CsvFormatError, match=r"utf-16 needs"):
        sniff_encoding("ID,Day".encode("utf-16-le"), "utf-16")
    with pytest.raises(CsvFormatError, match=r"looks like UTF-16 without a byte-order mark"):
        sniff_encoding("ID,Note,Day\n1,a,2024-01-01\n".encode("utf-16-be"), "latin-1")


def test_layout_tolerates_one_trailing_empty_field_only() -> None:
    layout = Layout.of(["ID", "Note", "Day", ""])
    assert layout.columns == ("ID", "Note", "Day") and layout.trailing_empty_column
    assert layout.width(["1", "a", "2024-01-01", ""]) == 3 and layout.width(["1", "a", "2024-01-01"]) == 3
    assert layout.width(["1", "a", "2024-01-01", "x"]) == 4 and layout.width(["1", "a"]) == 2
