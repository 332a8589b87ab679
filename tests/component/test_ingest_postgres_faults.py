"""Postgres sources that misbehave: late commits, numbers no decimal can hold, unreviewed columns, lost
connections and TLS, against a real embedded PostgreSQL (pgserver) and moto S3.

Each test asserts the outcome and records it for the fault suite (tests/faults_support.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingest_support import LAKE, aws_module, body, config, dataset, keys, manifest, request, s3_fixture  # noqa: F401
from pg_tls_proxy import TlsProxy

from dataplatform.config import load_config
from dataplatform.ingest import run_ingest
from dataplatform.ingest.postgres_source import PostgresExtractor, PostgresSourceError, connection_uri
from dataplatform.state import commit

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(pg: Any) -> Iterator[str]:
    uri = pg.get_uri()
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS products, transactions")
        conn.execute(
            "CREATE TABLE transactions (transaction_id bigint PRIMARY KEY, customer_id bigint NOT NULL,"
            " product_id bigint NOT NULL, quantity integer NOT NULL, total_amount numeric(12,2) NOT NULL,"
            " currency text NOT NULL, transaction_date date NOT NULL, updated_at timestamptz NOT NULL)"
        )
        conn.execute(
            "INSERT INTO transactions SELECT g, 1, 1, 1, g, 'USD', date '2024-01-01',"
            " now() - interval '1 hour' + g * interval '1 second' FROM generate_series(1, 20) g"
        )
        conn.execute(
            "CREATE TABLE products (product_id bigint PRIMARY KEY, product_name text NOT NULL, category text,"
            " price numeric, stock_available integer, supplier_email text)"
        )
        conn.execute(
            "INSERT INTO products VALUES (1, 'ok', 'Books', 12.50, 1, 'a@example.com'),"
            " (2, 'nan', 'Books', 'NaN', 1, 'b@example.com'), (3, 'inf', 'Books', 'Infinity', 1, NULL),"
            " (4, 'huge', 'Books', 1e40, 1, NULL), (5, 'fine', 'Books', 0.123456789012345678901, 1, NULL),"
            " (6, 'minus inf', 'Books', '-Infinity', 1, NULL)"
        )
    yield uri


def run(s3: Any, uri: str, name: str, run_id: str = "run-1", **source: Any) -> Any:
    contract = source.pop("contract", None)
    ds = dataset(name, **source)
    if contract:
        ds["contract"].update(contract)
    cfg = config(**{name: ds})
    extractor = PostgresExtractor(
        cfg.datasets[name].source, cfg.datasets[name].contract, lambda _: {"uri": uri}, reconnect_backoff_s=0.01
    )
    return run_ingest(request(name, run_id), config=cfg, lake=LAKE, s3=s3, extractor=extractor)


def read_parts(s3: Any, uri: str) -> pa.Table:
    m = manifest(s3, uri)
    return pa.concat_tables([pq.read_table(pa.BufferReader(body(s3, LAKE.raw_bucket, f["key"]))) for f in m["files"]])


def test_a_transaction_held_open_across_the_extract_is_read_by_the_next_run(s3: Any, db: str, fault: Any) -> None:
    """Its row's updated_at is the transaction's start (now()), older than the extract, but it commits after."""
    late = psycopg.connect(db)  # not autocommit: the transaction stays open
    try:
        late.execute("INSERT INTO transactions VALUES (99, 1, 1, 1, 9.99, 'EUR', date '2024-01-02', now())")
        first = run(s3, db, "transactions", lag_seconds=0)  # even with no lag at all
        late.commit()
    finally:
        late.close()
    m1 = manifest(s3, first.manifest_uri)
    assert read_parts(s3, first.manifest_uri).column("transaction_id").to_pylist() == list(range(1, 21))
    assert m1["source"]["held_back_by_transaction_since"] is not None
    commit(s3, LAKE, "run-1", ["transactions"])
    second = run(s3, db, "transactions", "run-2", lag_seconds=0)
    assert read_parts(s3, second.manifest_uri).column("transaction_id").to_pylist() == [99]
    fault.bad_input(
        "postgres: row committed after the extract with an older cursor value",
        rows_in=21,
        rows_out=first.rows + second.rows,
    )


def test_the_sample_config_keeps_a_lag() -> None:
    sample = load_config(ROOT / "pipeline.yaml", env={})
    assert sample.datasets["transactions"].source.lag_seconds >= 60


def test_nan_infinity_and_out_of_range_numerics_are_kept_as_text_for_quarantine(s3: Any, db: str, fault: Any) -> None:
    result = run(s3, db, "products")
    table = read_parts(s3, result.manifest_uri)
    prices = dict(zip(table.column("product_id").to_pylist(), table.column("price").to_pylist(), strict=True))
    assert prices == {
        1: "12.50",
        2: "NaN",
        3: "Infinity",
        4: "1" + "0" * 40,
        5: "0.123456789012345678901",
        6: "-Infinity",
    }
    assert table.schema.field("price").type == pa.string()
    fault.bad_input("postgres: NaN, Infinity and out-of-range numeric", rows_in=6, rows_out=result.rows)


def test_only_contract_columns_leave_the_database(s3: Any, db: str, fault: Any) -> None:
    frozen = run(s3, db, "products", contract={"schema_drift": "freeze"})
    assert "supplier_email" not in read_parts(s3, frozen.manifest_uri).column_names
    assert manifest(s3, frozen.manifest_uri)["source"]["columns"] == [
        "product_id",
        "product_name",
        "category",
        "price",
        "stock_available",
    ]
    evolving = run(s3, db, "products", "run-2", contract={"schema_drift": "evolve"})
    assert "supplier_email" in read_parts(s3, evolving.manifest_uri).column_names
    fault.bad_input("postgres: unreviewed column (e-mail) in the table", rows_in=6, rows_out=frozen.rows)


def test_a_cursor_column_outside_a_frozen_contract_is_named(s3: Any, db: str, fault: Any) -> None:
    ds_contract = dataset("transactions")["contract"]
    columns = [c for c in ds_contract["columns"] if c["name"] != "updated_at"]
    with pytest.raises(PostgresSourceError, match=r"cursor column 'updated_at' is not a contract column"):
        run(s3, db, "transactions", contract={"columns": columns, "updated_at": None, "schema_drift": "freeze"})
    assert keys(s3, LAKE.raw_bucket, "raw/") == []
    fault.bad_input("postgres config: cursor column not in a frozen contract")


def test_connection_lost_on_every_attempt_fails_cleanly(s3: Any, db: str, fault: Any) -> None:
    calls: list[int] = []

    def connect(uri: str) -> Any:
        import adbc_driver_postgresql.dbapi as dbapi

        calls.append(1)
        conn = dbapi.connect(uri, autocommit=True)
        with psycopg.connect(db, autocommit=True) as killer:
            killer.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE pid <> pg_backend_pid() AND datname = current_database() AND application_name = ''"
                " AND backend_type = 'client backend'"
            )
        return conn

    cfg = config(transactions=dataset("transactions"))
    src, contract = cfg.datasets["transactions"].source, cfg.datasets["transactions"].contract
    extractor = PostgresExtractor(
        src, contract, lambda _: {"uri": db}, connect=connect, max_reconnects=2, reconnect_backoff_s=0.01
    )
    with pytest.raises(PostgresSourceError, match=r"extracting table 'transactions' failed"):
        run_ingest(request("transactions"), config=cfg, lake=LAKE, s3=s3, extractor=extractor)
    assert len(calls) == 3  # the first attempt and two reconnects
    assert keys(s3, LAKE.raw_bucket, "raw/") == [] and keys(s3, LAKE.curated_bucket, "state/") == []
    # The database is back and the window is started again: the failed load committed nothing, so every row is
    # offered again, and ingested once.
    with psycopg.connect(db) as conn:
        (offered,) = conn.execute("SELECT count(*) FROM transactions").fetchone()
    again = run_ingest(request("transactions"), config=cfg, lake=LAKE, s3=s3, secrets=lambda _: {"uri": db})
    fault.injected("postgres: connection lost on every attempt", rows_in=offered, rows_out=again.rows)


# ------------------------------------------------------------------------------------------------ TLS


@pytest.fixture
def tls(db: str) -> Iterator[TlsProxy]:
    proxy = TlsProxy(db)
    yield proxy
    proxy.close()


def test_verify_full_with_the_ca_from_the_secret_extracts_over_tls(s3: Any, db: str, tls: TlsProxy) -> None:
    uri = tls.uri()
    secret = {"uri": uri, "sslrootcert": tls.ca_pem}
    cfg = config(products=dataset("products", sslmode="verify-full"))
    src, contract = cfg.datasets["products"].source, cfg.datasets["products"].contract
    result = run_ingest(
        request("products"), config=cfg, lake=LAKE, s3=s3, extractor=PostgresExtractor(src, contract, lambda _: secret)
    )
    assert result.rows == 6 and tls.tls_sessions >= 1


def test_a_certificate_no_trusted_root_signed_is_refused(s3: Any, db: str, tls: TlsProxy, fault: Any) -> None:
    cfg = config(products=dataset("products", sslmode="verify-full"))
    src, contract = cfg.datasets["products"].source, cfg.datasets["products"].contract
    extractor = PostgresExtractor(src, contract, lambda _: {"uri": tls.uri()}, reconnect_backoff_s=0.01)
    with pytest.raises(PostgresSourceError, match=r"certificate verify failed"):
        run_ingest(request("products"), config=cfg, lake=LAKE, s3=s3, extractor=extractor)
    assert keys(s3, LAKE.raw_bucket, "raw/") == []
    fault.bad_input("postgres: server certificate from an untrusted CA")


def test_on_aws_the_default_is_verify_full_and_a_plain_server_is_refused(
    s3: Any, db: str, monkeypatch: pytest.MonkeyPatch, fault: Any
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "retail-ingest-postgres")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    plain = TlsProxy(db, tls=False)
    try:
        secret = {"uri": plain.uri(), "sslrootcert": plain.ca_pem}
        assert "sslmode=verify-full" in connection_uri("pg", secret, on_aws=True)
        cfg = config(products=dataset("products"))
        src, contract = cfg.datasets["products"].source, cfg.datasets["products"].contract
        extractor = PostgresExtractor(src, contract, lambda _: secret, reconnect_backoff_s=0.01)
        with pytest.raises(PostgresSourceError, match=r"server does not support SSL, but SSL was required"):
            run_ingest(request("products"), config=cfg, lake=LAKE, s3=s3, extractor=extractor)
    finally:
        plain.close()
    fault.bad_input("postgres: server without TLS on AWS")
