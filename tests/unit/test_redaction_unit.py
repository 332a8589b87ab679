"""The redaction filter on its own: every form of a registered secret, in messages, extras and exception chains."""

from __future__ import annotations

import base64
import logging
from urllib.parse import quote, quote_plus

import pytest

from dataplatform.ingest.redaction import MASK, RedactingFilter, Redactor
from dataplatform.ingest.secrets import register_secret

SECRET = "p@ss/w+rd=1&x"


@pytest.fixture
def redactor() -> Redactor:
    r = Redactor()
    r.register(SECRET)
    return r


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        quote(SECRET, safe=""),
        quote_plus(SECRET),
        base64.b64encode(SECRET.encode()).decode(),
        base64.urlsafe_b64encode(SECRET.encode()).decode().rstrip("="),
    ],
)
def test_every_form_is_masked(redactor: Redactor, form: str) -> None:
    assert redactor.redact(f"before {form} after") == f"before {MASK} after"


def test_short_values_are_not_registered() -> None:
    r = Redactor()
    r.register("etl")
    r.register(543)
    assert r.redact("etl on port 543") == "etl on port 543"


def test_a_secret_dict_registers_credentials_not_connection_fields() -> None:
    import dataplatform.ingest.redaction as redaction

    fresh = Redactor()
    register_secret(
        {"host": "db.internal", "port": 5432, "username": "etl-user", "password": SECRET, "dbname": "shop"}, fresh
    )
    basic = base64.b64encode(f"etl-user:{SECRET}".encode()).decode()
    assert fresh.redact(f"db.internal etl-user {SECRET} Basic {basic}") == f"db.internal etl-user {MASK} Basic {MASK}"
    uri_secret = Redactor()
    register_secret({"uri": f"postgresql://etl:{quote(SECRET, safe='')}@db/shop"}, uri_secret)
    assert uri_secret.redact(f"password {SECRET}") == f"password {MASK}"
    assert redaction.REDACTOR is not fresh


def test_exception_chains_are_cleaned_in_place(redactor: Redactor) -> None:
    try:
        try:
            raise OSError(2, f"no such file {SECRET}", f"/tmp/{SECRET}")
        except OSError as inner:
            raise RuntimeError(f"outer {quote(SECRET, safe='')}") from inner
    except RuntimeError as exc:
        redactor.redact_exception(exc)
        assert SECRET not in str(exc) and quote(SECRET, safe="") not in str(exc)
        assert exc.__cause__ is not None and SECRET not in str(exc.__cause__)
        assert not redactor.leaks(exc)


def test_the_log_filter_masks_message_args_extras_and_exceptions(redactor: Redactor) -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "token %s", (SECRET,), None)
    record.__dict__["url"] = f"https://api?key={quote_plus(SECRET)}"
    try:
        raise ValueError(f"bad {SECRET}")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert RedactingFilter(redactor).filter(record)
    text = logging.Formatter().format(record) + str(record.__dict__["url"])
    assert SECRET not in text and quote_plus(SECRET) not in text and text.count(MASK) == 3
