"""CSV files as shops really export them, and files that are simply broken: one bad file never stops the rest.

Every test lands one bad file next to good ones in moto S3's landing prefix, runs `run_ingest`, asserts what
happened to each file (ingested byte-exact, or moved to the rejected prefix with a reason naming file, line and
column) and that every row of the good files reached raw; it records the case for the fault suite.
"""

from __future__ import annotations

import codecs
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from ingest_support import LAKE, aws_module, body, config, dataset, keys, manifest, request, s3_fixture  # noqa: F401

from dataplatform.ingest import run_ingest
from dataplatform.state import commit

pytestmark = pytest.mark.faults

HEADER = "Transaction_ID,Customer_ID,Product_ID,Quantity,Price,Currency,Transaction_Date"


def rows(n: int, start: int = 1) -> list[str]:
    return [
        f"S{i},{i % 7},{i % 5 + 1},{i % 3 + 1},{i}.50,USD,2024-01-{i % 28 + 1:02d}" for i in range(start, start + n)
    ]


def text(header: str, lines: list[str], newline: str = "\n") -> str:
    return newline.join([header, *lines]) + newline


def drop(s3: Any, name: str, data: bytes) -> None:
    s3.put_object(Bucket=LAKE.raw_bucket, Key=f"landing/sales/{name}", Body=data)


def ingest(s3: Any, run_id: str = "run-1", contract: dict[str, Any] | None = None, **source: Any) -> Any:
    ds = dataset("sales", **source)
    if contract:
        ds["contract"].update(contract)
    return run_ingest(request("sales", run_id), config=config(sales=ds), lake=LAKE, s3=s3)


def good_files(s3: Any) -> int:
    """Two good files around the bad one (names sort before and after it); returns their row count."""
    drop(s3, "a-good.csv", text(HEADER, rows(3)).encode())
    drop(s3, "z-good.csv", text(HEADER, rows(4, start=100)).encode())
    return 7


def outcome(s3: Any, result: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    m = manifest(s3, result.manifest_uri)
    return m, m["source"]["rejected"]


def assert_rejected(s3: Any, result: Any, name: str, pattern: str) -> dict[str, Any]:
    import re

    _, rejected = outcome(s3, result)
    (entry,) = rejected
    assert entry["source"] == f"s3://{LAKE.raw_bucket}/landing/sales/{name}"
    assert re.search(pattern, entry["reason"]), entry["reason"]
    assert "\n" not in entry["reason"]  # one line
    moved = entry["moved_to"].split("/", 3)[3]
    assert moved == f"rejected/sales/ingest_date=2024-02-01/run_id={result.run_id}/{name}"
    assert f"landing/sales/{name}" not in keys(s3, LAKE.raw_bucket, "landing/")
    note = json.loads(body(s3, LAKE.raw_bucket, f"{moved}.reason.json"))
    assert note["reason"] == entry["reason"]
    return entry


BAD_FILES: dict[str, tuple[bytes, str]] = {
    "0-byte file": (b"", r"empty.csv: the file is empty \(0 bytes\)"),
    "only blank lines": (b"\n\n\r\n", r"empty.csv: the file has no header line"),
    "reordered columns": (
        text(
            "Customer_ID,Transaction_ID,Product_ID,Quantity,Price,Currency,Transaction_Date",
            ["1,S9,1,1,1.00,USD,2024-01-02"],
        ).encode(),
        r"line 1: the columns differ from the run's first file.*reordered or missing",
    ),
    "a nullable column missing": (
        text(
            "Transaction_ID,Product_ID,Quantity,Price,Currency,Transaction_Date", ["S9,1,1,1.00,USD,2024-01-02"]
        ).encode(),
        r"line 1: the columns differ from the run's first file",
    ),
    "a required column missing": (
        text(
            "Transaction_ID,Customer_ID,Product_ID,Quantity,Currency,Transaction_Date", ["S9,1,1,1,USD,2024-01-02"]
        ).encode(),
        r"line 1: column 'Price': missing contract column\(s\) Price",
    ),
    "duplicate header name": (
        text(HEADER + ",Price", ["S9,1,1,1,1.00,USD,2024-01-02,2.00"]).encode(),
        r"line 1: column 'Price': duplicate column name",
    ),
    "an unreviewed column (e-mail) under freeze": (
        text(HEADER + ",Email", ["S9,1,1,1,1.00,USD,2024-01-02,ana@example.com"]).encode(),
        r"line 1: column 'Email': unexpected column\(s\) Email not in the contract \(schema_drift: freeze\)",
    ),
    "semicolon-delimited": (
        text(HEADER.replace(",", ";"), [r.replace(",", ";") for r in rows(2)]).encode(),
        r"missing contract column.*looks ';'-delimited",
    ),
    "undecodable bytes": (
        text(HEADER, ["S9,1,1,1,1.00,USD,2024-01-02", "S10,\xe9,1,1,1.00,USD,2024-01-02"]).encode("latin-1"),
        r"line 3: column 'Customer_ID': bytes are not valid utf-8",
    ),
    "UTF-16 without a byte-order mark": (
        text(HEADER, rows(2)).encode("utf-16-le"),
        r"line 1: the file looks like UTF-16 without a byte-order mark.*encoding is utf-8",
    ),
    "unterminated quote": (
        text(HEADER, ['S9,1,1,1,1.00,USD,"2024-01-02']).encode(),
        r"line \d+: malformed CSV: unexpected end of data",
    ),
    "NUL bytes": (text(HEADER, ["S9,1,1,1,1.00,US\x00D,2024-01-02"]).encode(), r"NUL bytes"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_is_moved_aside_and_the_others_are_ingested(s3: Any, case: str, fault: Any) -> None:
    data, pattern = BAD_FILES[case]
    expected = good_files(s3)
    drop(s3, "m-bad.csv" if "empty" not in pattern else "empty.csv", data)
    result = ingest(s3)
    name = "empty.csv" if "empty" in pattern else "m-bad.csv"
    assert_rejected(s3, result, name, pattern)
    m, _ = outcome(s3, result)
    assert [f["source"].rsplit("/", 1)[1] for f in m["files"]] == ["a-good.csv", "z-good.csv"]
    assert (result.status, result.rows, result.files, result.rejected) == ("done", expected, 2, 1)
    fault.bad_input(f"csv: {case}", rows_in=expected, rows_out=result.rows)


def test_a_bad_file_alone_still_finishes_the_run_with_a_warning(s3: Any, fault: Any) -> None:
    drop(s3, "empty.csv", b"")
    result = ingest(s3)
    assert (result.status, result.rows, result.files, result.rejected) == ("done", 0, 0, 1)
    assert keys(s3, LAKE.raw_bucket, "raw/sales/ingest_date=2024-02-01/run_id=run-1/part") == []
    fault.bad_input("csv: the only file of the run is bad")


def test_a_rejected_file_corrected_and_landed_again_is_ingested(s3: Any, fault: Any) -> None:
    drop(s3, "m-bad.csv", text(HEADER.replace(",Price", ""), ["S9,1,1,1,USD,2024-01-02"]).encode())
    first = ingest(s3, "run-1")
    assert first.rejected == 1
    commit(s3, LAKE, "run-1", ["sales"])
    drop(s3, "m-bad.csv", text(HEADER, ["S9,1,1,1,1.00,USD,2024-01-02"]).encode())
    second = ingest(s3, "run-2")
    assert (second.rows, second.files, second.rejected) == (1, 1, 0)
    fault.bad_input("csv: rejected file corrected and landed again", rows_in=1, rows_out=second.rows)


# ------------------------------------------------------------------------------ encodings and dialects


def data_lines(data: bytes, codec: str = "utf-8") -> int:
    """Records the test's file offers: its lines after the header (no sample here quotes a line break)."""
    return len(data.decode(codec).splitlines()) - 1


ENCODED: dict[str, tuple[bytes, dict[str, Any], str]] = {
    "UTF-16 LE with BOM": (codecs.BOM_UTF16_LE + text(HEADER, rows(3), "\r\n").encode("utf-16-le"), {}, "utf-16"),
    "UTF-16 BE with BOM": (codecs.BOM_UTF16_BE + text(HEADER, rows(3)).encode("utf-16-be"), {}, "utf-16"),
    "UTF-8 BOM while latin-1 is configured": (
        codecs.BOM_UTF8
        + text(
            HEADER, ["S1,1,1,1,1.00,EUR,2024-01-02", "S2,2,1,1,€2.00,EUR,2024-01-02", "S3,1,1,1,3,USD,2024-01-03"]
        ).encode(),
        {"encoding": "latin-1"},
        "utf-8-sig",
    ),
    "Windows-1252 (euro sign)": (
        text(
            HEADER, ["S1,1,1,1,1.00,EUR,2024-01-02", "S2,2,1,1,€2.00,EUR,2024-01-02", "S3,1,1,1,3,USD,2024-01-03"]
        ).encode("cp1252"),
        {"encoding": "cp1252"},
        "cp1252",
    ),
}


@pytest.mark.parametrize("case", list(ENCODED))
def test_encodings_shops_export_are_read(s3: Any, case: str, fault: Any) -> None:
    data, source, codec = ENCODED[case]
    drop(s3, "export.csv", data)
    result = ingest(s3, **source)
    m = manifest(s3, result.manifest_uri)
    (part,) = m["files"]
    assert (result.rows, result.rejected) == (3, 0)
    assert part["csv"]["encoding"] == codec and part["csv"]["header"] == HEADER.split(",")
    assert gzip.decompress(body(s3, LAKE.raw_bucket, part["key"])) == data  # the raw copy stays byte-exact
    fault.bad_input(f"csv encoding: {case}", rows_in=data_lines(data, codec), rows_out=result.rows)


def test_windows_1252_read_as_utf_8_names_line_column_and_encoding(s3: Any, fault: Any) -> None:
    data = ENCODED["Windows-1252 (euro sign)"][0]
    drop(s3, "m-bad.csv", data)
    expected = good_files(s3)
    result = ingest(s3)
    assert_rejected(s3, result, "m-bad.csv", r"m-bad.csv: line 3: column 'Price': bytes are not valid utf-8.*cp1252")
    fault.bad_input("csv encoding: Windows-1252 read as UTF-8", rows_in=expected, rows_out=result.rows)


def test_a_trailing_delimiter_on_every_line_is_not_a_column(s3: Any, fault: Any) -> None:
    data = text(HEADER + ",", [r + "," for r in rows(3)], "\r\n").encode()
    drop(s3, "trailing.csv", data)
    result = ingest(s3)
    (part,) = manifest(s3, result.manifest_uri)["files"]
    assert (result.rows, result.rejected) == (3, 0)
    assert part["csv"]["header"] == HEADER.split(",") and part["csv"]["trailing_empty_column"]
    assert part["csv"]["ragged_rows"] == 0
    fault.bad_input("csv: trailing delimiter on every line", rows_in=data_lines(data), rows_out=result.rows)


def test_ragged_rows_are_counted_and_kept_for_quarantine_never_cut_or_padded(s3: Any, fault: Any) -> None:
    lines = [*rows(2), "S50,1,1,1,1.00,USD,2024-01-02,extra", "S51,1,1,1.00,USD", *rows(1, start=60)]
    data = text(HEADER, lines).encode()
    drop(s3, "ragged.csv", data)
    result = ingest(s3)
    (part,) = manifest(s3, result.manifest_uri)["files"]
    assert result.rows == 5 and part["rows"] == 5  # every record, ragged ones included
    assert part["csv"]["ragged_rows"] == 2 and part["csv"]["ragged_lines"] == [4, 5]
    assert gzip.decompress(body(s3, LAKE.raw_bucket, part["key"])) == data
    fault.bad_input("csv: rows with too many and too few fields", rows_in=data_lines(data), rows_out=result.rows)


def test_decimal_commas_reach_raw_as_written(s3: Any, fault: Any) -> None:
    """Number formats are applied by standardize (contract number_format); ingestion keeps the text."""
    data = text(
        HEADER.replace(",", ";"), ['S1;1;1;1;"1.234,90";EUR;2024-01-02', "S2;1;1;1;12,50;EUR;2024-01-02"]
    ).encode()
    drop(s3, "eu.csv", data)
    result = ingest(s3, delimiter=";", number_format={"decimal": ",", "grouping": "."})
    assert (result.rows, result.rejected) == (2, 0)
    fault.bad_input("csv: decimal comma and dot grouping", rows_in=data_lines(data), rows_out=result.rows)


# ------------------------------------------------------------------------------ where files come from


def test_a_file_replaced_between_listing_and_reading_is_left_for_the_next_run(s3: Any, fault: Any) -> None:
    from dataplatform.ingest import csv_source

    expected = good_files(s3)
    drop(s3, "m-moving.csv", text(HEADER, rows(2, start=50)).encode())
    original = csv_source.open_landing

    def replace_then_open(s3_: Any, landing: Any, http: Any) -> Any:
        if landing.source.endswith("m-moving.csv"):
            drop(s3, "m-moving.csv", text(HEADER, rows(3, start=50)).encode())  # a new version arrives
        return original(s3_, landing, http)

    csv_source.open_landing = replace_then_open  # type: ignore[assignment]
    try:
        first = ingest(s3, "run-1")
    finally:
        csv_source.open_landing = original  # type: ignore[assignment]
    m, rejected = outcome(s3, first)
    assert rejected == [] and m["source"]["deferred"] == [f"s3://{LAKE.raw_bucket}/landing/sales/m-moving.csv"]
    assert first.rows == expected
    commit(s3, LAKE, "run-1", ["sales"])
    second = ingest(s3, "run-2")
    assert (second.rows, second.files) == (3, 1)  # the new version, once
    fault.injected(
        "csv: landing file replaced while it was read", rows_in=expected + 3, rows_out=first.rows + second.rows
    )


def test_a_bad_file_the_pipeline_may_not_delete_is_rejected_where_it_is(s3: Any, tmp_path: Path, fault: Any) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "a-good.csv").write_text(text(HEADER, rows(3)))
    (exports / "m-bad.csv").write_bytes(b"")
    result = ingest(s3, location=f"{exports}/")
    _, rejected = outcome(s3, result)
    assert [r["moved_to"] for r in rejected] == [None] and (exports / "m-bad.csv").exists()
    assert rejected[0]["source"] == (exports / "m-bad.csv").as_uri()
    assert (result.rows, result.rejected) == (3, 1)
    fault.bad_input("csv: bad file in a directory the pipeline may not change", rows_in=3, rows_out=result.rows)


def test_bad_files_of_the_same_name_in_subfolders_are_kept_apart(s3: Any, fault: Any) -> None:
    drop(s3, "2024-01/export.csv", b"")
    drop(s3, "2024-02/export.csv", text(HEADER.replace(",Price", ""), ["S9,1,1,1,USD,2024-01-02"]).encode())
    result = ingest(s3)
    _, rejected = outcome(s3, result)
    prefix = f"s3://{LAKE.raw_bucket}/rejected/sales/ingest_date=2024-02-01/run_id=run-1/"
    assert [r["moved_to"] for r in rejected] == [f"{prefix}2024-01/export.csv", f"{prefix}2024-02/export.csv"]
    assert keys(s3, LAKE.raw_bucket, "landing/") == []
    fault.bad_input("csv: two bad files of the same name in different folders")
