"""CSV ingestion against moto S3 (landing prefix) and a real local HTTP server (https-style URL source)."""

from __future__ import annotations

import functools
import gzip
import hashlib
import re
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from ingest_support import LAKE, aws_module, body, config, dataset, keys, manifest, request, s3_fixture  # noqa: F401

from dataplatform.ingest import TimeBudget, run_ingest
from dataplatform.state import commit

HEADER = "Transaction_ID,Customer_ID,Product_ID,Quantity,Price,Currency,Transaction_Date"


def sales_csv(n: int, start: int = 1, newline: str = "\n") -> bytes:
    lines = [HEADER] + [
        f"S{i},{i % 7},{i % 5 + 1},{i % 3 + 1},{i}.50,USD,2024-01-{i % 28 + 1:02d}" for i in range(start, start + n)
    ]
    return (newline.join(lines) + newline).encode()


def drop(s3: Any, name: str, data: bytes) -> None:
    s3.put_object(Bucket=LAKE.raw_bucket, Key=f"landing/sales/{name}", Body=data)


def ingest(s3: Any, run_id: str = "run-1", **overrides: Any) -> Any:
    contract = overrides.pop("contract", None)
    ds = dataset("sales", **overrides)
    if contract:
        ds["contract"].update(contract)
    return run_ingest(request("sales", run_id), config=config(sales=ds), lake=LAKE, s3=s3)


def raw_keys(s3: Any) -> list[str]:
    return keys(s3, LAKE.raw_bucket, "raw/")


def part_keys(s3: Any) -> list[str]:
    return [k for k in raw_keys(s3) if k.endswith(".csv.gz")]


def rejection(s3: Any, result: Any) -> dict[str, Any]:
    """The one file the run rejected; it was moved out of landing."""
    (rejected,) = manifest(s3, result.manifest_uri)["source"]["rejected"]
    assert result.rejected == 1 and rejected["moved_to"]
    assert keys(s3, LAKE.raw_bucket, "landing/") == [] or rejected["source"].split("/", 3)[3] not in keys(
        s3, LAKE.raw_bucket, "landing/"
    )
    return rejected


EVOLVE = {"schema_drift": "evolve"}


def test_copies_byte_exact_with_counts_and_records_the_run(s3: Any) -> None:
    first, second = sales_csv(5), sales_csv(3, start=100)
    drop(s3, "b.csv", second)
    drop(s3, "a.csv", first)
    drop(s3, "ignored.txt", b"not a csv")
    result = ingest(s3)
    assert (result.status, result.rows, result.files) == ("done", 8, 2)
    m = manifest(s3, result.manifest_uri)
    assert [f["source"] for f in m["files"]] == [
        f"s3://{LAKE.raw_bucket}/landing/sales/{n}" for n in ("a.csv", "b.csv")
    ]
    for f, original in zip(m["files"], (first, second), strict=True):
        stored = body(s3, LAKE.raw_bucket, f["key"])
        assert gzip.decompress(stored) == original
        assert f["sha256"] == hashlib.sha256(stored).hexdigest()
        assert f["source_sha256"] == hashlib.sha256(original).hexdigest()
        assert f["bytes"] == len(stored) and f["key"].endswith(".csv.gz")
    assert m["rows"] == 8 and m["format"] == "csv.gz"
    assert [c["name"] for c in m["schema"]] == HEADER.split(",")
    record = body(s3, LAKE.curated_bucket, "runs/run-1/sales/ingest.json")
    assert b'"manifest_uri"' in record and b'"status": "done"' in record


def test_a_landing_file_is_ingested_once_and_again_when_it_changes(s3: Any) -> None:
    drop(s3, "a.csv", sales_csv(2))
    assert ingest(s3, "run-1").rows == 2
    commit(s3, LAKE, "run-1", ["sales"])
    again = ingest(s3, "run-2")
    assert (again.rows, again.files) == (0, 0)
    commit(s3, LAKE, "run-2", ["sales"])
    drop(s3, "a.csv", sales_csv(4))  # same key, new content -> new ETag
    changed = ingest(s3, "run-3")
    assert (changed.rows, changed.files) == (4, 1)


def test_rerunning_a_committed_run_returns_its_manifest_without_duplicates(s3: Any) -> None:
    drop(s3, "a.csv", sales_csv(2))
    first = ingest(s3)
    commit(s3, LAKE, "run-1", ["sales"])
    drop(s3, "b.csv", sales_csv(2))
    second = ingest(s3)
    assert second.manifest_uri == first.manifest_uri and second.rows == 2  # b.csv waits for the next run
    assert len([k for k in raw_keys(s3) if k.endswith(".csv.gz")]) == 1


@pytest.mark.faults
def test_rerunning_a_failed_run_reads_landing_again(s3: Any, fault: Any) -> None:
    """README: fix the cause and start the same window again. The first attempt never committed."""
    drop(s3, "a.csv", sales_csv(2))
    first = ingest(s3)
    assert (first.rows, first.files) == (2, 1)
    drop(s3, "b.csv", sales_csv(3, start=10))  # the corrected export lands; the run is started again
    second = ingest(s3)
    m = manifest(s3, second.manifest_uri)
    assert second.manifest_uri == first.manifest_uri and (second.rows, second.files) == (5, 2)
    assert [f["source"].rsplit("/", 1)[1] for f in m["files"]] == ["a.csv", "b.csv"]
    assert len(part_keys(s3)) == 2  # the first attempt's raw was replaced, not added to
    commit(s3, LAKE, "run-1", ["sales"])
    assert ingest(s3, "run-2").files == 0  # both are processed once
    fault.bad_input("csv: corrected file landed, failed run started again", rows_in=5, rows_out=second.rows)


def test_empty_file_is_rejected_and_nothing_is_written(s3: Any) -> None:
    drop(s3, "empty.csv", b"")
    result = ingest(s3)
    assert re.search(r"landing/sales/empty.csv: the file is empty \(0 bytes\)", rejection(s3, result)["reason"])
    assert part_keys(s3) == []


def test_header_only_file_is_zero_rows(s3: Any) -> None:
    drop(s3, "h.csv", (HEADER + "\n").encode())
    result = ingest(s3)
    assert (result.rows, result.files) == (0, 1)


def test_utf8_bom_is_accepted_and_kept(s3: Any) -> None:
    data = b"\xef\xbb\xbf" + sales_csv(3)
    drop(s3, "bom.csv", data)
    result = ingest(s3)
    assert result.rows == 3
    assert gzip.decompress(body(s3, LAKE.raw_bucket, manifest(s3, result.manifest_uri)["files"][0]["key"])) == data


def test_crlf_line_endings(s3: Any) -> None:
    drop(s3, "crlf.csv", sales_csv(4, newline="\r\n"))
    assert ingest(s3).rows == 4


def test_quoted_newlines_do_not_break_the_count(s3: Any) -> None:
    header = HEADER.replace("Transaction_Date", "Transaction_Date,Note")
    data = f'{header}\nS1,1,1,1,1.00,USD,2024-01-01,"two\nlines"\nS2,1,1,1,1.00,USD,2024-01-01,"a\r\nb\n\nc"\n'
    drop(s3, "q.csv", data.encode())
    assert ingest(s3, contract=EVOLVE).rows == 2


def test_wrong_delimiter_is_named(s3: Any) -> None:
    drop(s3, "semi.csv", sales_csv(2).replace(b",", b";"))
    reason = rejection(s3, ingest(s3))["reason"]
    assert re.search(r"semi.csv: line 1: column 'Transaction_ID': missing contract column.*looks ';'-delimited", reason)
    assert part_keys(s3) == []


def test_configured_delimiter_is_used(s3: Any) -> None:
    drop(s3, "semi.csv", sales_csv(2).replace(b",", b";"))
    assert ingest(s3, delimiter=";").rows == 2


def test_missing_required_contract_column(s3: Any) -> None:
    drop(s3, "m.csv", sales_csv(2).replace(b",Price", b""))
    reason = rejection(s3, ingest(s3))["reason"]
    assert re.search(r"m.csv: line 1: column 'Price': missing contract column\(s\) Price", reason)


def test_missing_nullable_column_is_recorded(s3: Any) -> None:
    drop(s3, "n.csv", sales_csv(2).replace(b"Customer_ID,", b""))
    result = ingest(s3)
    assert manifest(s3, result.manifest_uri)["source"]["missing_columns"] == ["Customer_ID"]


def test_extra_column_evolves_into_the_manifest_schema(s3: Any) -> None:
    drop(s3, "x.csv", sales_csv(2).replace(b"Transaction_Date\n", b"Transaction_Date,Store\n"))
    result = ingest(s3, contract=EVOLVE)
    m = manifest(s3, result.manifest_uri)
    assert m["source"]["extra_columns"] == ["Store"] and m["schema"][-1] == {"name": "Store", "type": "string"}


def test_extra_column_is_rejected_when_the_contract_is_frozen(s3: Any) -> None:
    drop(s3, "x.csv", sales_csv(2).replace(b"Transaction_Date\n", b"Transaction_Date,Store\n"))
    reason = rejection(s3, ingest(s3))["reason"]  # freeze is the default
    assert re.search(r"column 'Store': unexpected column\(s\) Store .*schema_drift: freeze", reason)
    assert part_keys(s3) == []


def test_undecodable_bytes_name_the_line(s3: Any) -> None:
    data = sales_csv(3).replace(b"S2,", "S2é,".encode("latin-1"))
    drop(s3, "bad.csv", data)
    reason = rejection(s3, ingest(s3))["reason"]
    assert re.search(r"bad.csv: line 3: column 'Transaction_ID': bytes are not valid utf-8", reason)
    assert part_keys(s3) == []


def test_latin1_encoding_decodes_the_same_bytes(s3: Any) -> None:
    drop(s3, "latin.csv", sales_csv(3).replace(b"S2,", "S2é,".encode("latin-1")))
    assert ingest(s3, encoding="latin-1").rows == 3


def test_a_10mb_line_is_one_record(s3: Any) -> None:
    big = "x" * (10 * 1024 * 1024)
    data = sales_csv(1) + f'S9,1,1,1,1.00,USD,2024-01-01,"{big}"\n'.encode()
    drop(s3, "wide.csv", data.replace(b"Transaction_Date\n", b"Transaction_Date,Blob\n", 1))
    result = ingest(s3, contract=EVOLVE)
    assert result.rows == 2
    assert gzip.decompress(
        body(s3, LAKE.raw_bucket, manifest(s3, result.manifest_uri)["files"][0]["key"])
    ) == data.replace(b"Transaction_Date\n", b"Transaction_Date,Blob\n", 1)


def test_unterminated_quote_is_a_clear_error(s3: Any) -> None:
    drop(s3, "open.csv", sales_csv(1) + b'S9,1,1,1,1.00,USD,"2024-01-01\n')
    assert re.search(r"open.csv: line \d+: malformed CSV", rejection(s3, ingest(s3))["reason"])


def test_time_budget_continuation_matches_a_single_pass(s3: Any) -> None:
    for i in range(3):
        drop(s3, f"f{i}.csv", sales_csv(5 + i, start=i * 100))
    cfg = config(sales=dataset("sales"))
    single = run_ingest(request("sales", "single"), config=cfg, lake=LAKE, s3=s3)
    calls, cursor = 0, None
    while True:
        calls += 1
        out = run_ingest(
            request("sales", "continued", cursor), config=cfg, lake=LAKE, s3=s3, budget=TimeBudget(lambda: 0, 1)
        )
        if out.status == "done":
            break
        cursor = out.cursor
        assert out.manifest_uri is None and len(str(cursor)) < 2000
    assert calls == 3
    a, b = manifest(s3, single.manifest_uri), manifest(s3, out.manifest_uri)
    strip = lambda m: [(f["rows"], f["sha256"], f["source"]) for f in m["files"]]  # noqa: E731
    assert strip(a) == strip(b) and a["rows"] == b["rows"] == 18 and a["schema"] == b["schema"]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    server.shutdown()
    server.server_close()


def test_url_source_is_streamed_and_ingested_once(s3: Any, file_server: tuple[str, Path]) -> None:
    url, root = file_server
    (root / "export.csv").write_bytes(sales_csv(6))
    result = ingest(s3, location=f"{url}/export.csv")
    assert (result.rows, result.files) == (6, 1)
    assert manifest(s3, result.manifest_uri)["files"][0]["source"] == f"{url}/export.csv"
    commit(s3, LAKE, "run-1", ["sales"])
    assert ingest(s3, "run-2", location=f"{url}/export.csv").files == 0


class ListingSpy:
    """An S3 client that records the prefixes it lists."""

    def __init__(self, client: Any) -> None:
        self.client, self.listed = client, []

    def get_paginator(self, name: str) -> Any:
        paginator = self.client.get_paginator(name)
        spy = self

        class Recording:
            def paginate(self, **kwargs: Any) -> Any:
                spy.listed.append(kwargs.get("Prefix", ""))
                return paginator.paginate(**kwargs)

        return Recording()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_each_run_lists_only_what_is_new_however_old_the_lake(s3: Any) -> None:
    """Processed markers are checked one by one, never listed; committed landing files leave landing."""
    for day in range(1, 6):
        drop(s3, f"day-{day}.csv", sales_csv(2, start=day * 10))
        ingest(s3, f"run-{day}")
        commit(s3, LAKE, f"run-{day}", ["sales"])
    drop(s3, "day-6.csv", sales_csv(3, start=60))
    spy = ListingSpy(s3)
    cfg = config(sales=dataset("sales"))
    result = run_ingest(request("sales", "run-6"), config=cfg, lake=LAKE, s3=spy)
    assert (result.rows, result.files) == (3, 1)
    assert not [p for p in spy.listed if p.startswith("state/")]  # no marker listing
    commit(s3, LAKE, "run-6", ["sales"])
    ingest(s3, "run-7")
    assert keys(s3, LAKE.raw_bucket, "landing/") == []  # every committed file has left landing
