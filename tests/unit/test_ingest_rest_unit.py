"""REST helpers without a server: dotted paths, Frankfurter flattening, watermark ordering, retry policy."""

from __future__ import annotations

import pytest

from dataplatform.config.models import RestSource
from dataplatform.ingest.rest_source import RestSourceError, _later, build_session, dig, flatten_frankfurter


def test_dig() -> None:
    body = {"a": {"b": [{"c": 1}]}, "data": []}
    assert dig(body, "a.b.0.c") == 1 and dig(body, "data") == [] and dig(body, None) is body
    assert dig(body, "a.x.c") is None and dig(body, "a.b.5") is None


def test_flatten_timeseries_and_latest() -> None:
    series = {"base": "USD", "rates": {"2024-01-03": {"JPY": 143.2, "EUR": 0.91}, "2024-01-02": {"EUR": 0.9}}}
    assert flatten_frankfurter(series, "x") == [
        {"base_currency": "USD", "currency_code": "EUR", "rate_date": "2024-01-02", "rate": 0.9},
        {"base_currency": "USD", "currency_code": "EUR", "rate_date": "2024-01-03", "rate": 0.91},
        {"base_currency": "USD", "currency_code": "JPY", "rate_date": "2024-01-03", "rate": 143.2},
    ]
    latest = {"amount": 1.0, "base": "EUR", "date": "2024-05-02", "rates": {"USD": 1.07}}
    assert flatten_frankfurter(latest, "x") == [
        {"base_currency": "EUR", "currency_code": "USD", "rate_date": "2024-05-02", "rate": 1.07}
    ]
    with pytest.raises(RestSourceError, match=r"GET u: expected Frankfurter JSON"):
        flatten_frankfurter({"data": []}, "GET u")


def test_later_compares_timestamps_not_strings() -> None:
    assert _later(None, "b") == "b"
    assert _later("2024-01-01T10:00:00+02:00", "2024-01-01T09:00:00Z") == "2024-01-01T09:00:00Z"
    assert _later("2024-01-02", "2024-01-01T23:00:00") == "2024-01-02"
    assert _later("abc", "abd") == "abd"


def test_retry_policy_follows_the_config() -> None:
    src = RestSource(kind="rest", base_url="http://x", max_retries=4, backoff_s=0.25)
    retry = build_session(src).get_adapter("https://x").max_retries
    assert (retry.total, retry.status, retry.read, retry.backoff_factor) == (4, 4, 4, 0.25)
    assert set(retry.status_forcelist) == {429, 500, 502, 503, 504} and retry.respect_retry_after_header
    assert retry.backoff_jitter == 0.25
