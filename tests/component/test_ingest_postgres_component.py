"""Postgres ingestion against a real embedded PostgreSQL (pgserver, unix socket) and moto S3."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingest_support import LAKE, aws_module, body, config, dataset, keys, manifest, request, s3_fixture  # noqa: F401

from dataplatform.ingest import TimeBudget, run_ingest
from dataplatform.ingest.postgres_source import PostgresExtractor, PostgresSourceError
from dataplatform.state import commit


@pytest.fixture
def db(pg: Any) -> Iterator[str]:
    uri = pg.get_uri()
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS products, transactions, big")
        conn.execute(
            "CREATE TABLE products (product_id bigint PRIMARY KEY, product_name text NOT NULL, category text,"
            " price numeric(12,2) NOT NULL, stock_available integer)"
        )
        conn.execute(
            "INSERT INTO products SELECT g, 'Product ' || g, CASE WHEN g % 2 = 0 THEN 'Books' END,"
            " g * 1.25, g * 10 FROM generate_series(1, 10) g"
        )
        conn.execute(
            "CREATE TABLE transactions (transaction_id bigint PRIMARY KEY, customer_id bigint NOT NULL,"
            " product_id bigint NOT NULL, quantity integer NOT NULL, total_amount numeric(12,2) NOT NULL,"
            " currency text NOT NULL, transaction_date date NOT NULL, updated_at timestamptz NOT NULL)"
        )
        conn.execute(
            "INSERT INTO transactions SELECT g, g % 7 + 1, g % 10 + 1, g % 3 + 1, g * 2.5, 'USD',"
            " date '2024-01-01' + g % 28, now() - interval '1 day' + g * interval '1 second'"
            " FROM generate_series(1, 50) g"
        )
    yield uri


def secrets_for(uri: str) -> Any:
    return lambda name: {"uri": uri}


def run(s3: Any, uri: str, name: str, run_id: str = "run-1", cursor: Any = None, **kw: Any) -> Any:
    overrides = kw.pop("source", {})
    cfg = config(**{name: dataset(name, **overrides)})
    extractor = PostgresExtractor(
        cfg.datasets[name].source,
        cfg.datasets[name].contract,
        secrets_for(uri),
        reconnect_backoff_s=0.05,
        **kw.pop("extractor", {}),
    )
    return run_ingest(request(name, run_id, cursor), config=cfg, lake=LAKE, s3=s3, extractor=extractor, **kw)


def read_parts(s3: Any, m: dict[str, Any]) -> pa.Table:
    tables = [pq.read_table(pa.BufferReader(body(s3, LAKE.raw_bucket, f["key"]))) for f in m["files"]]
    return pa.concat_tables(tables)


def test_full_refresh_parquet_parts_of_bounded_size(s3: Any, db: str) -> None:
    result = run(s3, db, "products", source={"part_max_rows": 4, "batch_rows": 2})
    m = manifest(s3, result.manifest_uri)
    assert [f["rows"] for f in m["files"]] == [4, 4, 2] and m["rows"] == 10 and m["format"] == "parquet"
    table = read_parts(s3, m)
    assert table.schema.field("price").type == pa.string()  # numeric as its exact text
    assert table.column("product_id").to_pylist() == list(range(1, 11))
    assert table.column("price")[3].as_py() == "5.00"
    meta = pq.ParquetFile(pa.BufferReader(body(s3, LAKE.raw_bucket, m["files"][0]["key"]))).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [2, 2]
    assert {"name": "price", "type": "string"} in m["schema"]
    assert m["watermark"] == {"previous": None, "proposed": None}


def test_incremental_reads_up_to_the_start_bound_and_later_commits_arrive_next_run(s3: Any, db: str) -> None:
    added: list[int] = []

    def commit_during_extract(raw_file: Any) -> None:
        # Another session commits a new row while the extract is streaming.
        if not added:
            with psycopg.connect(db, autocommit=True) as conn:
                conn.execute("INSERT INTO transactions VALUES (1000, 1, 1, 1, 9.99, 'EUR', date '2024-01-15', now())")
            added.append(1000)

    no_lag = {"lag_seconds": 0}  # the bound under test is the start of the extract
    first = run(s3, db, "transactions", source={"part_max_rows": 10, **no_lag}, on_part=commit_during_extract)
    m1 = manifest(s3, first.manifest_uri)
    ids1 = read_parts(s3, m1).column("transaction_id").to_pylist()
    assert ids1 == list(range(1, 51)) and added == [1000]
    assert m1["watermark"]["previous"] is None and m1["watermark"]["proposed"]
    assert m1["source"]["range"]["lower"] == "1970-01-01T00:00:00+00:00"
    assert commit(s3, LAKE, "run-1", ["transactions"]) == {"transactions": m1["watermark"]["proposed"]}

    second = run(s3, db, "transactions", "run-2", source=no_lag)
    m2 = manifest(s3, second.manifest_uri)
    assert read_parts(s3, m2).column("transaction_id").to_pylist() == [1000]
    assert m2["watermark"]["previous"] == m1["watermark"]["proposed"]
    table = read_parts(s3, m2)
    assert table.schema.field("updated_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("transaction_date").type == pa.date32()


def test_lag_keeps_recent_rows_for_the_next_run(s3: Any, db: str) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("UPDATE transactions SET updated_at = now() WHERE transaction_id = 50")
    result = run(s3, db, "transactions", source={"lag_seconds": 300})
    ids = read_parts(s3, manifest(s3, result.manifest_uri)).column("transaction_id").to_pylist()
    assert ids == list(range(1, 50))  # row 50 changed within the lag window: left for the next run


@pytest.mark.faults
def test_connection_drop_mid_extract_resumes_without_duplicates_or_gaps(s3: Any, db: str, pg: Any, fault: Any) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE TABLE big (id bigint PRIMARY KEY, payload text, amount numeric(10,2))")
        conn.execute("INSERT INTO big SELECT g, repeat('x', 40), g / 100.0 FROM generate_series(1, 200000) g")
        (offered,) = conn.execute("SELECT count(*) FROM big").fetchone()
    connects: list[str] = []
    killed: list[int] = []

    def connect(uri: str) -> Any:
        import adbc_driver_postgresql.dbapi as dbapi

        connects.append(uri)
        return dbapi.connect(uri, autocommit=True)

    def kill_after_first_part(raw_file: Any) -> None:
        if not killed:
            with psycopg.connect(db, autocommit=True) as conn:
                rows = conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE pid <> pg_backend_pid() AND datname = current_database() AND state <> 'idle'"
                ).fetchall()
            killed.append(len(rows))

    ds = dataset("products", table="big", part_max_rows=20_000, batch_rows=5_000)
    ds["contract"]["key"] = ["product_id"]
    ds["contract"]["columns"][0] = {"name": "product_id", "source": "id", "type": "bigint", "nullable": False}
    cfg = config(products=ds)
    extractor = PostgresExtractor(
        cfg.datasets["products"].source,
        cfg.datasets["products"].contract,
        secrets_for(db),
        connect=connect,
        reconnect_backoff_s=0.05,
        batch_hint_bytes=64 * 1024,
    )
    result = run_ingest(
        request("products"), config=cfg, lake=LAKE, s3=s3, extractor=extractor, on_part=kill_after_first_part
    )
    assert killed == [1] and len(connects) == 2  # the stream really broke and was resumed once
    table = read_parts(s3, manifest(s3, result.manifest_uri))
    assert table.column("id").to_pylist() == list(range(1, offered + 1))
    assert result.rows == offered and result.files == 10
    fault.injected("postgres: connection terminated mid-extract", rows_in=offered, rows_out=table.num_rows)


def test_missing_table_is_a_clear_error(s3: Any, db: str) -> None:
    with pytest.raises(PostgresSourceError, match=r"table 'nope' does not exist \(SQLSTATE 42P01\)"):
        run(s3, db, "products", source={"table": "nope"})
    assert keys(s3, LAKE.raw_bucket, "raw/") == []


def test_missing_cursor_column_is_a_clear_error(s3: Any, db: str) -> None:
    with pytest.raises(PostgresSourceError, match=r"cursor column 'changed_at' does not exist \(columns: "):
        run(s3, db, "transactions", source={"cursor_column": "changed_at"})
    assert keys(s3, LAKE.raw_bucket, "raw/") == []


def test_unreachable_database_is_a_clear_error_after_reconnects(s3: Any) -> None:
    with pytest.raises(PostgresSourceError, match=r"extracting table 'products' failed"):
        run(s3, "postgresql://postgres@/postgres?host=/nonexistent-socket-dir", "products")


def test_time_budget_continuation_matches_a_single_pass(s3: Any, db: str) -> None:
    source = {"part_max_rows": 7, "batch_rows": 3}
    single = run(s3, db, "transactions", "single", source=source)
    calls, cursor, uppers = 0, None, set()
    while True:
        calls += 1
        out = run(s3, db, "transactions", "continued", cursor, source=source, budget=TimeBudget(lambda: 0.0, 1.0))
        if out.status == "done":
            break
        cursor = out.cursor
        uppers.add(cursor["position"]["plan"]["upper"])
    a, b = manifest(s3, single.manifest_uri), manifest(s3, out.manifest_uri)
    assert calls == 8  # 50 rows in parts of 7: the 8th call finds the last short part
    assert [(f["rows"], f["sha256"]) for f in a["files"]] == [(f["rows"], f["sha256"]) for f in b["files"]]
    assert uppers == {b["watermark"]["proposed"]}  # the bound captured by the first call holds for all of them
