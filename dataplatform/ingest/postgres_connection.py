"""Connecting to Postgres: the URI from the secret, its TLS settings, SQL literals, and which errors to retry.

TLS: `sslmode` from the source config wins; otherwise a `sslmode` already in the secret's URI is kept; otherwise
a deployed Lambda uses `verify-full` (the server's certificate must chain to a trusted root and name the host),
and a local run leaves libpq's default. The trusted root is the source's `sslrootcert` (a path, or `system` for
the operating system's store), else the PEM text in the secret's `sslrootcert` field (written to a private
temporary file), else, for verify-full, the system store.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pyarrow as pa

from dataplatform.config.models import PostgresSource
from dataplatform.ingest.secrets import require_fields

RETRYABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "40001")
"""Connection exceptions, admin/crash shutdown, cannot-connect-now, serialization failure."""
AWS_DEFAULT_SSLMODE = "verify-full"


def base_uri(name: str, secret: dict[str, Any]) -> str:
    if secret.get("uri"):
        return str(secret["uri"])
    host, user, password, dbname = require_fields(name, secret, "host", "username", "password", "dbname")
    port = secret.get("port", 5432)
    user, password, dbname = (quote(str(v), safe="") for v in (user, password, dbname))
    return f"postgresql://{user}:{password}@{host}:{port}/{dbname}"


def _root_cert_file(pem: str) -> str:
    """The secret's CA bundle as a file libpq can read (named by its hash, so a warm container writes it once)."""
    path = Path(tempfile.gettempdir()) / f"pg-root-{hashlib.sha256(pem.encode()).hexdigest()[:16]}.pem"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(pem)
    return str(path)


def tls_parameters(source: PostgresSource | None, secret: dict[str, Any], uri: str, *, on_aws: bool) -> dict[str, str]:
    """libpq parameters to add to `uri` (see the module doc for the order of precedence)."""
    present = dict(parse_qsl(urlsplit(uri).query))
    params: dict[str, str] = {}
    sslmode = (source.sslmode if source else None) or present.get("sslmode")
    if sslmode is None and on_aws:
        sslmode = AWS_DEFAULT_SSLMODE
    if sslmode and sslmode != present.get("sslmode"):
        params["sslmode"] = sslmode
    if sslmode in ("verify-ca", "verify-full") and "sslrootcert" not in present:
        if source and source.sslrootcert:
            params["sslrootcert"] = source.sslrootcert
        elif secret.get("sslrootcert"):
            params["sslrootcert"] = _root_cert_file(str(secret["sslrootcert"]))
        elif sslmode == "verify-full":
            params["sslrootcert"] = "system"
    return params


def connection_uri(
    name: str, secret: dict[str, Any], source: PostgresSource | None = None, *, on_aws: bool = False
) -> str:
    uri = base_uri(name, secret)
    params = tls_parameters(source, secret, uri, on_aws=on_aws)
    if not params:
        return uri
    return uri + ("&" if urlsplit(uri).query else "?") + urlencode(params)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: Any, pg_type: str) -> str:
    if isinstance(value, datetime | date):
        text = value.isoformat()
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, Decimal | int | float):
        text = str(value)
    else:
        text = str(value)
    return "'" + text.replace("'", "''") + "'::" + pg_type


def sqlstate(exc: BaseException) -> str:
    return str(getattr(exc, "sqlstate", None) or "")


def is_retryable(exc: BaseException) -> bool:
    """A dropped connection or server shutdown (worth reconnecting), not a SQL mistake."""
    state = sqlstate(exc)
    if state:
        return state.startswith(RETRYABLE_SQLSTATES)
    text = str(exc).lower()
    if "ssl" in text or "certificate" in text:
        return False  # a TLS refusal does not heal by reconnecting
    # ADBC reports a connection lost between statements as a DB-API OperationalError without a SQLSTATE.
    transport = isinstance(exc, OSError | pa.ArrowException) or type(exc).__name__ == "OperationalError"
    return transport and any(
        marker in text for marker in ("terminat", "connection", "server closed", "eof", "broken pipe", "socket")
    )
