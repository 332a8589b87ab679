"""REST helpers without a server: dotted paths, Frankfurter flattening, watermark ordering, retry policy, TLS."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from dataplatform.config.models import RestSource
from dataplatform.ingest.rest_http import RestClient
from dataplatform.ingest.rest_source import RestSourceError, build_session, capped, dig, flatten_frankfurter, later


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


def later_of(a: str | None, b: str) -> str:
    return later(a, b, "updated_at", "page 1")


def test_later_compares_timestamps_and_numbers_not_strings() -> None:
    assert later_of(None, "b") == "b"
    assert later_of("2024-01-01T10:00:00+02:00", "2024-01-01T09:00:00Z") == "2024-01-01T09:00:00Z"
    assert later_of("2024-01-02", "2024-01-01T23:00:00") == "2024-01-02"
    assert later_of("abc", "abd") == "abd"
    assert later_of("9", "10") == "10"  # numbers as numbers: as strings '9' > '10'


@pytest.mark.faults
def test_naive_and_aware_timestamps_in_one_cursor_are_a_clear_error(fault: Any) -> None:
    with pytest.raises(RestSourceError, match=r"page 1: updated_at '2024-01-02T10:00:00' is a naive value but "):
        later_of("2024-01-01T00:00:00Z", "2024-01-02T10:00:00")
    fault.bad_input("rest: naive and aware cursor timestamps mixed")


def test_the_lag_caps_recent_watermarks_in_their_own_form() -> None:
    started = datetime(2024, 2, 1, 10, 0, 30, tzinfo=UTC)
    assert capped("2024-02-01T10:00:00Z", started, 60) == "2024-02-01T09:59:30Z"
    assert capped("2024-02-01T12:00:00+02:00", started, 60) == "2024-02-01T11:59:30+02:00"
    assert capped("2024-02-01T10:00:00", started, 60) == "2024-02-01T09:59:30"  # naive: read as UTC
    assert capped("2024-02-01T09:00:00Z", started, 60) == "2024-02-01T09:00:00Z"  # old enough: kept
    assert capped("2024-02-01T10:00:00Z", started, 0) == "2024-02-01T10:00:00Z"
    assert capped("17", started, 60) == "17"  # not a timestamp


def test_retry_policy_follows_the_config() -> None:
    src = RestSource(kind="rest", base_url="http://127.0.0.1", max_retries=4, backoff_s=0.25, max_retry_after_s=7)
    retry = build_session(src).get_adapter("https://x").max_retries
    assert (retry.total, retry.status, retry.read, retry.backoff_factor) == (4, 4, 4, 0.25)
    assert set(retry.status_forcelist) == {429, 500, 502, 503, 504} and retry.respect_retry_after_header
    assert retry.backoff_jitter == 0.25 and retry.retry_after_max == 7


class _Response:
    def __init__(self, retry_after: str) -> None:
        self.headers = {"Retry-After": retry_after}


@pytest.mark.faults
def test_retry_after_is_capped(monkeypatch: pytest.MonkeyPatch, fault: Any) -> None:
    slept: list[float] = []
    monkeypatch.setattr("urllib3.util.retry.time.sleep", slept.append)
    retry = build_session(RestSource(kind="rest", base_url="https://x")).get_adapter("https://x").max_retries
    retry.sleep(_Response("3600"))  # type: ignore[arg-type]
    assert slept == [60]
    fault.injected("rest: Retry-After of an hour")


@pytest.mark.faults
@pytest.mark.parametrize(
    ("url", "auth"),
    [("http://crm.example.com/api", {"type": "bearer", "secret": "s"}), ("http://rates.example.com", {})],
)
def test_plain_http_needs_allow_insecure(url: str, auth: dict[str, Any], fault: Any) -> None:
    with pytest.raises(ValidationError, match=r"is plain http: data.* would travel unencrypted.*allow_insecure"):
        RestSource.model_validate({"kind": "rest", "base_url": url, "auth": auth})
    assert RestSource.model_validate({"kind": "rest", "base_url": url, "auth": auth, "allow_insecure": True})
    assert RestSource.model_validate({"kind": "rest", "base_url": "http://127.0.0.1:8080", "auth": auth})
    fault.bad_input(f"rest config: plain http base_url ({'with' if auth else 'without'} auth)")


@pytest.mark.faults
def test_downgrade_from_https_is_refused(fault: Any) -> None:
    client = RestClient(RestSource(kind="rest", base_url="https://crm.example.com/api"), lambda name: {})
    assert client.check_origin("https://crm.example.com:443/api?page=2", "next page", "w")
    with pytest.raises(RestSourceError, match=r"http://crm.example.com:80, .*a downgrade from https to http"):
        client.check_origin("http://crm.example.com/api?page=2", "next page", "w")
    fault.bad_input("rest: next page downgraded from https to http")


@pytest.mark.faults
def test_allow_insecure_with_credentials_is_refused_on_aws(monkeypatch: pytest.MonkeyPatch, fault: Any) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "retail-ingest-rest")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    auth = {"type": "bearer", "secret": "s"}
    src = RestSource.model_validate(
        {"kind": "rest", "base_url": "http://crm.example.com", "auth": auth, "allow_insecure": True}
    )
    read: list[str] = []
    client = RestClient(src, lambda name: read.append(name) or {"token": "t0k3n-value"})
    with pytest.raises(RestSourceError, match=r"allow_insecure is not honoured on AWS for a source with credentials"):
        client.get("http://crm.example.com/customers", {}, 1)
    assert read == []  # refused before the secret is even read
    fault.bad_input("rest config: allow_insecure with credentials on AWS")
