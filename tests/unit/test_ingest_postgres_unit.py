"""Postgres helpers without a server: URIs from secrets, literals, retryable errors, Arrow target types."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

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


def test_target_schema_keeps_numeric_text_and_maps_opaque_types() -> None:
    opaque = pa.opaque(pa.string(), type_name="uuid", vendor_name="PostgreSQL")
    schema = pa.schema([pa.field("amount", pa.string()), pa.field("id", pa.int64()), pa.field("u", opaque)])
    target = PostgresExtractor._target_schema(schema)
    assert target.types == [pa.string(), pa.int64(), pa.string()]
    batch = pa.record_batch(
        [pa.array(["1.50", "NaN"]), pa.array([1, 2]), pa.ExtensionArray.from_storage(opaque, pa.array(["a", "b"]))],
        schema=schema,
    )
    out = PostgresExtractor._convert(batch, target)
    assert out.column(0).to_pylist() == ["1.50", "NaN"] and out.column(2).to_pylist() == ["a", "b"]


def test_tls_parameters_follow_config_then_uri_then_the_aws_default() -> None:
    from dataplatform.config.models import PostgresSource

    src = PostgresSource(kind="postgres", connection_secret="s", table="t")
    plain = {"uri": "postgresql://etl:pw@db.internal:5432/shop"}
    assert connection_uri("s", plain, src) == plain["uri"]  # local: libpq's default
    assert connection_uri("s", plain, src, on_aws=True) == plain["uri"] + "?sslmode=verify-full&sslrootcert=system"
    kept = {"uri": plain["uri"] + "?sslmode=require"}
    assert connection_uri("s", kept, src, on_aws=True) == kept["uri"]  # the secret's explicit choice
    configured = src.model_copy(update={"sslmode": "verify-ca", "sslrootcert": "/opt/rds-ca.pem"})
    assert connection_uri("s", kept, configured, on_aws=True) == (
        kept["uri"] + "&sslmode=verify-ca&sslrootcert=%2Fopt%2Frds-ca.pem"
    )
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    uri = connection_uri("s", {**plain, "sslrootcert": pem}, src, on_aws=True)
    path = uri.split("sslrootcert=")[1].replace("%2F", "/")
    assert uri.startswith(plain["uri"] + "?sslmode=verify-full&sslrootcert=") and Path(path).read_text() == pem


class _OperationalError(Exception):
    """Stands in for adbc_driver_manager.OperationalError (matched by name, like the DB-API hierarchy)."""


_OperationalError.__name__ = "OperationalError"


def test_a_connection_terminated_between_statements_is_retryable() -> None:
    assert is_retryable(_OperationalError("IO: Failed to prepare query: FATAL:  terminating connection due to admin"))
    assert not is_retryable(_OperationalError("IO: [libpq] ... SSL error: certificate verify failed"))
