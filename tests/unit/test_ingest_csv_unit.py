"""CSV parsing, counting and header checks without AWS: chunk boundaries anywhere, encodings, header rules."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator

import pytest

from dataplatform.config.models import Contract, CsvSource
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
        with pytest.raises(CsvValidationError, match=r"f.csv: line 4: bytes are not valid utf-8"):
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
    assert check_header("f", ["ID", "Note", "Day"], SOURCE, CONTRACT) == ([], [])
    assert check_header("f", [" ID ", "Day"], SOURCE, CONTRACT) == (["Note"], [])  # nullable may be missing
    assert check_header("f", ["ID", "Day", "Extra"], SOURCE, CONTRACT) == (["Note"], ["Extra"])
    with pytest.raises(CsvValidationError, match=r"duplicate column\(s\) ID"):
        check_header("f", ["ID", "ID", "Day"], SOURCE, CONTRACT)
    with pytest.raises(CsvValidationError, match=r"missing contract column\(s\) ID, Day.*looks '\\t'-delimited"):
        check_header("f", ["ID\tNote\tDay"], SOURCE, CONTRACT)
    frozen = CONTRACT.model_copy(update={"schema_drift": "freeze"})
    with pytest.raises(CsvValidationError, match=r"unexpected column\(s\) Extra"):
        check_header("f", ["ID", "Note", "Day", "Extra"], SOURCE, frozen)


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
