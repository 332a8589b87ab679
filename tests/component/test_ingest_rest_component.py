"""REST ingestion against the real local HTTP services of dataplatform.local.apis (moto for S3)."""

from __future__ import annotations

import base64
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from ingest_support import (  # noqa: F401
    LAKE,
    aws_module,
    body,
    config,
    dataset,
    jsonl_rows,
    keys,
    manifest,
    request,
    s3_fixture,
)

from dataplatform.config import load_config
from dataplatform.ingest import TimeBudget, run_ingest
from dataplatform.ingest.rest_source import RestAuthError, RestExtractor, RestSourceError
from dataplatform.local.apis import CustomerApi, ExchangeRateApi, Faults, ecb_history, sample_customers
from dataplatform.state import commit

TOKEN = "s3cr3t-token-value"
SECRETS = {
    "retail/customer-api": {"token": TOKEN},
    "k": {"api_key": "KEY123"},
    "b": {"username": "u", "password": "pw"},
}


def read_secret(name: str) -> dict[str, Any]:
    return SECRETS[name]


def customers_ingest(s3: Any, api: CustomerApi, run_id: str = "run-1", **overrides: Any) -> Any:
    paginator = overrides.pop(
        "paginator", {"type": "page_number", "page_param": "page", "page_size": 100, "total_path": "total"}
    )
    ds = dataset("customers", base_url=api.url, paginator=paginator, backoff_s=0.05, **overrides)
    return run_ingest(request("customers", run_id), config=config(customers=ds), lake=LAKE, s3=s3, secrets=read_secret)


def raw_keys(s3: Any) -> list[str]:
    return keys(s3, LAKE.raw_bucket, "raw/")


def rerun_after_the_fault(s3: Any, customers: list[dict[str, Any]]) -> int:
    """The fault is over and the window is started again: the rows the failed load was offered, as ingested now.
    The failed load committed nothing, so every one of them is offered again (none lost, none twice)."""
    assert keys(s3, LAKE.curated_bucket, "state/") == []
    with CustomerApi(customers, TOKEN) as api:
        return customers_ingest(s3, api).rows


def test_exchange_rates_are_real_ecb_history_flattened_to_rows(s3: Any) -> None:
    with ExchangeRateApi() as api:
        ds = dataset("exchange_rates", base_url=api.url)
        req = request("exchange_rates", start="2024-01-01", end="2024-01-05")
        result = run_ingest(req, config=config(exchange_rates=ds), lake=LAKE, s3=s3, secrets=read_secret)
        assert api.requests[0]["path"] == "/2024-01-01..2024-01-05" and api.requests[0]["query"]["base"] == "EUR"
    m = manifest(s3, result.manifest_uri)
    rows = jsonl_rows(s3, m)
    _, table = ecb_history()
    days = sorted({r["rate_date"] for r in rows})
    assert days == ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]  # Jan 1 is a TARGET holiday
    usd = next(r for r in rows if r["currency_code"] == "USD" and r["rate_date"] == "2024-01-02")
    # The ECB's own base: every rate as published, not rounded (the sample converts through cross rates).
    assert usd == {"base_currency": "EUR", "currency_code": "USD", "rate_date": "2024-01-02", "rate": 1.0956}
    assert all(r["rate"] == table[r["currency_code"]][date.fromisoformat(r["rate_date"])] for r in rows)
    assert not any(r["currency_code"] == "EUR" for r in rows)
    assert result.rows == len(rows) == m["rows"] and m["format"] == "jsonl.gz"
    assert [f["name"] for f in m["schema"]] == ["base_currency", "currency_code", "rate_date", "rate"]


def test_latest_endpoint_is_flattened_too(s3: Any) -> None:
    with ExchangeRateApi() as api:
        ds = dataset("exchange_rates", base_url=api.url, path="/latest")
        result = run_ingest(request("exchange_rates"), config=config(exchange_rates=ds), lake=LAKE, s3=s3)
    rows = jsonl_rows(s3, manifest(s3, result.manifest_uri))
    assert len(rows) > 20 and len({r["rate_date"] for r in rows}) == 1


def test_customers_pages_bearer_and_incremental_watermark(s3: Any) -> None:
    people = sample_customers(250)
    with CustomerApi(people, TOKEN) as api:
        first = customers_ingest(s3, api)
        assert [r["query"]["page"] for r in api.requests] == ["1", "2", "3"]
        assert api.requests[0]["query"]["updated_since"] == "1970-01-01T00:00:00Z"
        m = manifest(s3, first.manifest_uri)
        assert m["rows"] == 250 and [r["Customer_ID"] for r in jsonl_rows(s3, m)] == list(range(1, 251))
        assert m["watermark"] == {"previous": None, "proposed": "2024-01-01T00:00:00Z"}
        assert commit(s3, LAKE, "run-1", ["customers"]) == {"customers": "2024-01-01T00:00:00Z"}
        people[4]["updated_at"] = "2024-02-01T10:00:00Z"
        api.requests.clear()
        second = customers_ingest(s3, api, "run-2")
    assert api.requests[0]["query"]["updated_since"] == "2024-01-01T00:00:00Z"
    m2 = manifest(s3, second.manifest_uri)
    assert [r["Customer_ID"] for r in jsonl_rows(s3, m2)] == [5]
    assert m2["watermark"] == {"previous": "2024-01-01T00:00:00Z", "proposed": "2024-02-01T10:00:00Z"}


@pytest.mark.parametrize(
    ("style", "paginator"),
    [
        ("offset", {"type": "offset", "page_size": 40, "total_path": "total"}),
        ("cursor", {"type": "cursor", "cursor_param": "cursor", "cursor_path": "next_cursor", "page_size": 40}),
        ("next_url", {"type": "next_url", "next_url_path": "next"}),
        ("link_header", {"type": "link_header"}),
    ],
)
def test_every_paginator_reads_each_record_once(s3: Any, style: str, paginator: dict[str, Any]) -> None:
    with CustomerApi(sample_customers(130), TOKEN, pagination=style, page_size=40) as api:
        result = customers_ingest(s3, api, paginator=paginator)
        assert len(api.requests) == 4
    ids = [r["Customer_ID"] for r in jsonl_rows(s3, manifest(s3, result.manifest_uri))]
    assert ids == list(range(1, 131))


@pytest.mark.faults
def test_429_with_retry_after_is_honoured(s3: Any, fault: Any) -> None:
    people = sample_customers(5)
    with CustomerApi(people, TOKEN, faults=Faults(fail_times=1, fail_status=429, retry_after=1)) as api:
        started = time.monotonic()
        result = customers_ingest(s3, api)
        assert time.monotonic() - started >= 1.0
        assert len(api.requests) == 2
    assert result.rows == 5
    fault.injected("rest: 429 with Retry-After", rows_in=len(people), rows_out=result.rows)


@pytest.mark.faults
def test_500_then_success(s3: Any, fault: Any) -> None:
    people = sample_customers(5)
    with CustomerApi(people, TOKEN, faults=Faults(fail_times=2, fail_status=500)) as api:
        result = customers_ingest(s3, api)
        assert len(api.requests) == 3
    assert result.rows == 5
    fault.injected("rest: 500 twice then success", rows_in=len(people), rows_out=result.rows)


@pytest.mark.faults
def test_500_beyond_retries_is_a_clear_error_and_writes_nothing(s3: Any, fault: Any) -> None:
    people = sample_customers(250)
    with CustomerApi(people, TOKEN) as api:
        # page 1 succeeds and goes into the open part; page 2 fails for good
        original = api.handle

        def failing(path: str, query: dict[str, str], headers: dict[str, str]) -> Any:
            if query.get("page") == "2":
                return 500, {}, b'{"error":"down"}'
            return original(path, query, headers)

        api.handle = failing  # type: ignore[method-assign]
        with pytest.raises(RestSourceError, match=r"page 2\).*gave up after 2 retries.*500"):
            customers_ingest(s3, api, max_retries=2)
    assert raw_keys(s3) == []
    # Only the (run, dataset) lease stays: the failure path's write_audit releases it.
    assert [k for k in keys(s3, LAKE.curated_bucket) if not k.endswith("/lease.json")] == []
    fault.injected(
        "rest: 500 beyond the retries on page 2", rows_in=len(people), rows_out=rerun_after_the_fault(s3, people)
    )


@pytest.mark.faults
def test_timeout_is_retried(s3: Any, fault: Any) -> None:
    people = sample_customers(3)
    with CustomerApi(people, TOKEN, faults=Faults(delay_times=1, delay_s=1.5)) as api:
        result = customers_ingest(s3, api, timeout_s=0.5)
    assert result.rows == len(people)
    fault.injected("rest: read timeout then success", rows_in=len(people), rows_out=result.rows)


@pytest.mark.faults
def test_timeouts_beyond_retries_fail_clearly(s3: Any, fault: Any) -> None:
    people = sample_customers(3)
    with (
        CustomerApi(people, TOKEN, faults=Faults(delay_times=5, delay_s=1.0)) as api,
        pytest.raises(RestSourceError, match=r"page 1\).*(retries|timed out)"),
    ):
        customers_ingest(s3, api, timeout_s=0.3, max_retries=1)
    assert raw_keys(s3) == []
    fault.injected(
        "rest: read timeouts beyond the retries", rows_in=len(people), rows_out=rerun_after_the_fault(s3, people)
    )


@pytest.mark.faults
def test_truncated_json_is_retried(s3: Any, fault: Any) -> None:
    people = sample_customers(3)
    with CustomerApi(people, TOKEN, faults=Faults(truncate_times=1)) as api:
        result = customers_ingest(s3, api)
        assert len(api.requests) == 2
    assert result.rows == len(people)
    fault.injected("rest: truncated body then success", rows_in=len(people), rows_out=result.rows)


@pytest.mark.faults
def test_truncated_json_every_time_is_a_clear_error(s3: Any, fault: Any) -> None:
    people = sample_customers(3)
    with (
        CustomerApi(people, TOKEN, faults=Faults(truncate_times=99)) as api,
        pytest.raises(RestSourceError, match=r"page 1\).*truncated"),
    ):
        customers_ingest(s3, api, max_retries=2)
    assert raw_keys(s3) == []
    fault.injected("rest: truncated body every time", rows_in=len(people), rows_out=rerun_after_the_fault(s3, people))


def test_empty_page_mid_stream_with_a_next_cursor_continues(s3: Any) -> None:
    paginator = {"type": "cursor", "page_size": 40}
    with CustomerApi(
        sample_customers(130), TOKEN, pagination="cursor", page_size=40, faults=Faults(empty_page=2)
    ) as api:
        result = customers_ingest(s3, api, paginator=paginator)
        assert len(api.requests) == 4
    ids = [r["Customer_ID"] for r in jsonl_rows(s3, manifest(s3, result.manifest_uri))]
    assert ids == [*range(1, 41), *range(81, 131)]  # the server dropped page 2; pages after it still arrive


@pytest.mark.faults
def test_empty_page_before_the_reported_total_is_refused(s3: Any, fault: Any) -> None:
    paginator = {"type": "page_number", "page_size": 40, "total_path": "total"}
    people = sample_customers(130)
    with (
        CustomerApi(people, TOKEN, page_size=40, faults=Faults(empty_page=2)) as api,
        pytest.raises(RestSourceError, match=r"page 2\): empty page although the API reports 130 records"),
    ):
        customers_ingest(s3, api, paginator=paginator)
    assert raw_keys(s3) == []
    again = rerun_after_the_fault(s3, people)
    fault.bad_input("rest: empty page before the reported total", rows_in=len(people), rows_out=again)


@pytest.mark.faults
def test_repeating_cursor_stops_the_loop(s3: Any, fault: Any) -> None:
    paginator = {"type": "cursor", "page_size": 40}
    faults = Faults(repeat_cursor=True)
    people = sample_customers(130)
    with CustomerApi(people, TOKEN, pagination="cursor", page_size=40, faults=faults) as api:
        with pytest.raises(RestSourceError, match=r"returned the cursor '40' again; stopping a pagination loop"):
            customers_ingest(s3, api, paginator=paginator)
        assert len(api.requests) == 2  # page 1 hands out '40', page 2 hands out '40' again
    assert raw_keys(s3) == []
    fault.bad_input("rest: repeating cursor", rows_in=len(people), rows_out=rerun_after_the_fault(s3, people))


def test_max_pages_guard(s3: Any) -> None:
    with (
        CustomerApi(sample_customers(250), TOKEN) as api,
        pytest.raises(RestSourceError, match=r"more than max_pages=2 pages"),
    ):
        customers_ingest(s3, api, max_pages=2)
    assert raw_keys(s3) == []


@pytest.mark.faults
def test_401_is_an_auth_error_without_the_secret(s3: Any, fault: Any) -> None:
    people = sample_customers(3)
    with CustomerApi(people, "another-token") as api:
        with pytest.raises(RestAuthError) as caught:
            customers_ingest(s3, api)
        assert len(api.requests) == 1  # not retried
    message = str(caught.value)
    assert "HTTP 401" in message and "retail/customer-api" in message and TOKEN not in message
    assert raw_keys(s3) == []
    # The secret is rotated to what the API expects and the window started again: every row, once.
    again = rerun_after_the_fault(s3, people)
    fault.bad_input("rest: rejected credentials (401)", rows_in=len(people), rows_out=again)


@pytest.mark.parametrize(
    ("auth", "check"),
    [
        ({"type": "api_key", "secret": "k", "name": "X-Key"}, lambda r: r["headers"]["x-key"] == "KEY123"),
        (
            {"type": "api_key", "secret": "k", "name": "apikey", "location": "query"},
            lambda r: r["query"]["apikey"] == "KEY123",
        ),
        (
            {"type": "basic", "secret": "b"},
            lambda r: r["headers"]["authorization"] == "Basic " + base64.b64encode(b"u:pw").decode(),
        ),
    ],
)
def test_api_key_and_basic_auth_are_sent(s3: Any, auth: dict[str, Any], check: Any) -> None:
    with ExchangeRateApi() as api:
        ds = dataset("exchange_rates", base_url=api.url, auth=auth)
        run_ingest(request("exchange_rates"), config=config(exchange_rates=ds), lake=LAKE, s3=s3, secrets=read_secret)
        assert check(api.requests[0])


def test_time_budget_is_checked_after_every_page(s3: Any) -> None:
    """Parts hold up to 100 records, but a call stops after any page once time runs short (not per part)."""
    with CustomerApi(sample_customers(250), TOKEN, page_size=50) as api:
        ds = dataset("customers", base_url=api.url, paginator={"type": "page_number", "page_size": 50})
        cfg = config(customers=ds)
        src = cfg.datasets["customers"].source

        def run(run_id: str, cursor: Any, budget: TimeBudget) -> Any:
            extractor = RestExtractor(src, read_secret, part_records=100)
            return run_ingest(
                request("customers", run_id, cursor), config=cfg, lake=LAKE, s3=s3, budget=budget, extractor=extractor
            )

        single = run("single", None, TimeBudget())
        api.requests.clear()
        calls, cursor = 0, None
        while True:
            calls += 1
            out = run("continued", cursor, TimeBudget(lambda: 0.0, 1.0))
            if out.status == "done":
                break
            cursor = out.cursor
            assert len(api.requests) == calls  # one page per call
    assert calls == 6  # five pages of 50, then the empty page that ends page_number paging without a total
    a, b = manifest(s3, single.manifest_uri), manifest(s3, out.manifest_uri)
    assert [f["rows"] for f in a["files"]] == [100, 100, 50] and [f["rows"] for f in b["files"]] == [50] * 5
    assert jsonl_rows(s3, a) == jsonl_rows(s3, b)
    assert a["watermark"] == b["watermark"] and a["rows"] == 250 and out.rows == 250


def test_sample_config_refuses_an_empty_customer_page_mid_stream(s3: Any) -> None:
    """The shipped pipeline.yaml must not silently drop the pages after an empty one."""
    sample = load_config(Path(__file__).resolve().parents[2] / "pipeline.yaml", env={})
    paginator = sample.datasets["customers"].source.paginator.model_dump(exclude_defaults=True)
    paginator["page_size"] = 40
    with (
        CustomerApi(sample_customers(130), TOKEN, page_size=40, faults=Faults(empty_page=2)) as api,
        pytest.raises(RestSourceError, match=r"empty page although the API reports 130 records"),
    ):
        customers_ingest(s3, api, paginator=paginator)
