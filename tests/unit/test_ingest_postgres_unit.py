"""Postgres helpers without a server: URIs from secrets, literals, retryable errors, Arrow target types."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from dataplatform.ingest.base import IngestError
from dataplatform.ingest.postgres_source import PostgresExtractor, connection_uri, is_retryable, sql_literal


def test_connection_uri_quotes_credentials() -> None:
    secret = {"host": "db.internal", "port": 5433, "dbname": "shop", "username": "etl", "password": "p@ss/w:rd"}
    assert connection_uri("s", secret) == "postgresql://etl:p%40ss%2Fw%3Ard@db.internal:5433/shop"
    assert connection_uri("s", {"uri": "postgresql:///x"}) == "postgresql:///x"
    with pytest.raises(IngestError, match=r"secret 's' lacks field\(s\) password") as caught:
        connection_uri("s", {"host": "h", "dbname": "d", "username": "u"})
    assert "p@ss" not in str(caught.value)


def test_sql_literals() -> None:
    assert sql_literal(datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "timestamptz") == (
        "'2024-01-02T03:04:05.000006+00:00'::timestamptz"
    )
    assert sql_literal(date(2024, 1, 2), "date") == "'2024-01-02'::date"
    assert sql_literal("O'Brien", "text") == "'O''Brien'::text"
    assert sql_literal(Decimal("1.50"), "numeric") == "'1.50'::numeric"
    assert sql_literal(7, "int8") == "'7'::int8"


class _Err(Exception):
    def __init__(self, msg: str, sqlstate: str | None) -> None:
        super().__init__(msg)
        self.sqlstate = sqlstate


def test_retryable_errors() -> None:
    assert is_retryable(_Err("terminating connection due to administrator command", "57P01"))
    assert is_retryable(_Err("connection failure", "08006"))
    assert not is_retryable(_Err('relation "x" does not exist', "42P01"))
    assert not is_retryable(_Err("column does not exist", "42703"))
    assert is_retryable(OSError("server closed the connection unexpectedly"))
    assert not is_retryable(ValueError("server closed"))


def test_target_schema_maps_numeric_and_opaque_types() -> None:
    opaque = pa.opaque(pa.string(), type_name="uuid", vendor_name="PostgreSQL")
    schema = pa.schema([pa.field("amount", pa.string()), pa.field("id", pa.int64()), pa.field("u", opaque)])
    target = PostgresExtractor._target_schema(schema, {"amount": [12, 2]})
    assert target.types == [pa.decimal128(12, 2), pa.int64(), pa.string()]
    batch = pa.record_batch(
        [pa.array(["1.50", None]), pa.array([1, 2]), pa.ExtensionArray.from_storage(opaque, pa.array(["a", "b"]))],
        schema=schema,
    )
    out = PostgresExtractor._convert(batch, target)
    assert out.column(0).to_pylist() == [Decimal("1.50"), None] and out.column(2).to_pylist() == ["a", "b"]
