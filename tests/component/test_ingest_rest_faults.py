"""REST sources that misbehave: foreign origins, missing record lists, capped pages, paging loops, late records.

Each test feeds one bad response shape through a real local HTTP server (dataplatform.local.apis) into
`run_ingest` with moto S3, asserts the outcome, and records it for the fault suite (tests/faults_support.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ingest_support import (  # noqa: F401
    LAKE,
    aws_module,
    config,
    dataset,
    jsonl_rows,
    keys,
    manifest,
    request,
    s3_fixture,
)

from dataplatform.ingest import run_ingest
from dataplatform.ingest.rest_source import RestSourceError
from dataplatform.local.apis import CustomerApi, sample_customers
from dataplatform.state import commit

pytestmark = pytest.mark.faults

TOKEN = "bearer-token-of-the-crm"
API_KEY = "api-key-of-the-crm"


def read_secret(name: str) -> dict[str, Any]:
    return {"token": TOKEN, "api_key": API_KEY}


def ingest(s3: Any, api: CustomerApi, run_id: str = "run-1", **source: Any) -> Any:
    source.setdefault("paginator", {"type": "page_number", "page_size": 40})
    ds = dataset("customers", base_url=api.url, backoff_s=0.01, **source)
    return run_ingest(request("customers", run_id), config=config(customers=ds), lake=LAKE, s3=s3, secrets=read_secret)


def raw_keys(s3: Any) -> list[str]:
    return keys(s3, LAKE.raw_bucket, "raw/")


def offered_again(s3: Any, people: list[dict[str, Any]], **source: Any) -> int:
    """Rows a failed load leaves for the next run: it committed nothing, so once the server behaves the same
    window ingests every row it was offered (none lost, none twice)."""
    assert raw_keys(s3) == [] and keys(s3, LAKE.curated_bucket, "state/") == []
    with CustomerApi(people, TOKEN, pagination=source.get("paginator", {}).get("type", "page_number")) as api:
        return ingest(s3, api, **source).rows


class Elsewhere(CustomerApi):
    """Another origin (another port on this machine) that records whatever reaches it."""

    def handle(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Any:
        return 200, {}, json.dumps({"data": [], "next": None}).encode()


def leaked(other: Elsewhere) -> bool:
    return any(TOKEN in json.dumps(r) or API_KEY in json.dumps(r) for r in other.requests)


@pytest.mark.parametrize("style", ["next_url", "link_header"])
def test_next_page_on_another_origin_gets_no_credentials(s3: Any, style: str, fault: Any) -> None:
    people = sample_customers(130)
    with Elsewhere([], "x") as other, CustomerApi(people, TOKEN, pagination=style, page_size=40) as api:
        original = api.handle

        def foreign_next(path: str, query: dict[str, str], headers: dict[str, str]) -> Any:
            status, extra, body = original(path, query, headers)
            data = json.loads(body)
            if data.get("next"):
                data["next"] = data["next"].replace(api.url, other.url)
            if "Link" in extra:
                extra["Link"] = extra["Link"].replace(api.url, other.url)
            return status, extra, json.dumps(data).encode()

        api.handle = foreign_next  # type: ignore[method-assign]
        with pytest.raises(RestSourceError, match=r"page 1\): the .*next page points to http://127.0.0.1:\d+, not"):
            ingest(s3, api, paginator={"type": style})
        assert other.requests == [] and len(api.requests) == 1
    assert raw_keys(s3) == []
    again = offered_again(s3, people, paginator={"type": style})
    fault.bad_input(f"rest: {style} next page on another origin", rows_in=len(people), rows_out=again)


def test_redirect_to_another_origin_gets_no_api_key(s3: Any, fault: Any) -> None:
    with Elsewhere([], "x") as other, CustomerApi(sample_customers(10), TOKEN) as api:
        api.handle = lambda path, query, headers: (302, {"Location": f"{other.url}/steal"}, b"")  # type: ignore[method-assign]
        auth = {"type": "api_key", "secret": "crm", "name": "X-API-Key"}
        with pytest.raises(RestSourceError, match=r"the redirect points to http://127.0.0.1:\d+"):
            ingest(s3, api, auth=auth, incremental=None)
        assert not leaked(other) and other.requests == []
    assert raw_keys(s3) == []
    fault.bad_input("rest: redirect to another origin")


def test_missing_records_path_fails_instead_of_counting_as_empty(s3: Any, fault: Any) -> None:
    people = sample_customers(130)
    with CustomerApi(people, TOKEN, pagination="cursor", page_size=40) as api:
        original = api.handle

        def page_two_without_data(path: str, query: dict[str, str], headers: dict[str, str]) -> Any:
            status, extra, body = original(path, query, headers)
            data = json.loads(body)
            if query.get("cursor") == "40":
                data.pop("data")
            return status, extra, json.dumps(data).encode()

        api.handle = page_two_without_data  # type: ignore[method-assign]
        with pytest.raises(RestSourceError, match=r"page 2\): records_path 'data' is missing from the response"):
            ingest(s3, api, paginator={"type": "cursor", "page_size": 40})
    assert raw_keys(s3) == []  # nothing written, no watermark proposed
    again = offered_again(s3, people, paginator={"type": "cursor", "page_size": 40})
    fault.bad_input("rest: records path missing on page 2", rows_in=len(people), rows_out=again)


@pytest.mark.parametrize("style", ["page_number", "offset"])
def test_a_server_that_caps_the_page_size_is_read_completely(s3: Any, style: str, fault: Any) -> None:
    people = sample_customers(130)
    with CustomerApi(people, TOKEN, pagination=style, page_size=40) as api:
        original = api.handle

        def capped(path: str, query: dict[str, str], headers: dict[str, str]) -> Any:
            return original(path, {**query, "limit": str(min(int(query.get("limit", 40)), 40))}, headers)

        api.handle = capped  # type: ignore[method-assign]
        result = ingest(s3, api, paginator={"type": style, "page_size": 100})  # asks 100, gets 40
    ids = [r["Customer_ID"] for r in jsonl_rows(s3, manifest(s3, result.manifest_uri))]
    assert ids == list(range(1, 131))
    fault.bad_input(f"rest: {style} server caps page size", rows_in=len(people), rows_out=len(ids))


def test_a_server_that_ignores_the_offset_is_a_loop_not_max_pages_of_duplicates(s3: Any, fault: Any) -> None:
    people = sample_customers(130)
    with CustomerApi(people, TOKEN, pagination="offset", page_size=40) as api:
        original = api.handle
        api.handle = lambda path, query, headers: original(path, {**query, "offset": "0"}, headers)  # type: ignore[method-assign]
        with pytest.raises(RestSourceError, match=r"page 2\): the page repeats the records of an earlier page"):
            ingest(s3, api, paginator={"type": "offset", "page_size": 40}, max_pages=50)
        assert len(api.requests) == 2
    assert raw_keys(s3) == []
    again = offered_again(s3, people, paginator={"type": "offset", "page_size": 40})
    fault.bad_input("rest: offset ignored by the server (paging loop)", rows_in=len(people), rows_out=again)


def test_a_server_that_ignores_the_page_number_is_a_loop(s3: Any, fault: Any) -> None:
    people = sample_customers(130)
    with CustomerApi(people, TOKEN, page_size=40) as api:
        original = api.handle
        api.handle = lambda path, query, headers: original(path, {**query, "page": "1"}, headers)  # type: ignore[method-assign]
        with pytest.raises(RestSourceError, match=r"page 2\): the page repeats the records of an earlier page"):
            ingest(s3, api, paginator={"type": "page_number", "page_size": 40, "total_path": "total"}, max_pages=50)
        assert len(api.requests) == 2
    assert raw_keys(s3) == []
    again = offered_again(s3, people, paginator={"type": "page_number", "page_size": 40, "total_path": "total"})
    fault.bad_input("rest: page number ignored by the server (paging loop)", rows_in=len(people), rows_out=again)


def test_a_record_visible_only_after_the_run_is_read_by_the_next_one(s3: Any, fault: Any) -> None:
    """Like Postgres' lag: a record updated 30 s before a run but committed after it is not skipped."""
    now = datetime.now(UTC).replace(microsecond=0)
    stamp = lambda seconds_ago: (now - timedelta(seconds=seconds_ago)).isoformat().replace("+00:00", "Z")  # noqa: E731
    people = sample_customers(3, updated=stamp(3600))
    people[2]["updated_at"] = stamp(10)  # changed just now
    visible = list(people)
    with CustomerApi(lambda: visible, TOKEN) as api:
        first = ingest(s3, api)
        proposed = manifest(s3, first.manifest_uri)["watermark"]["proposed"]
        assert stamp(10) > proposed >= stamp(75)  # capped at the start of the extract - lag_seconds (60)
        commit(s3, LAKE, "run-1", ["customers"])
        late = {**sample_customers(4)[3], "updated_at": stamp(30)}
        visible.append(late)  # updated before run-1's newest record, but not visible to run-1
        second = ingest(s3, api, "run-2")
    m2 = manifest(s3, second.manifest_uri)
    assert sorted(r["Customer_ID"] for r in jsonl_rows(s3, m2)) == [3, 4]  # 3 again: dropped later by key
    fault.bad_input(
        "rest: record visible only after the run that passed its cursor value",
        rows_in=4,
        rows_out=first.rows + second.rows - 1,
    )


def test_mixed_naive_and_aware_cursor_values_fail_the_load(s3: Any, fault: Any) -> None:
    people = sample_customers(3)
    people[1]["updated_at"] = "2024-01-02T00:00:00"  # no offset, unlike the others
    with CustomerApi(people, TOKEN) as api:
        original = api.handle  # the sample server's own filter cannot compare the two kinds either
        api.handle = lambda path, query, headers: original(  # type: ignore[method-assign]
            path, {k: v for k, v in query.items() if k != "updated_since"}, headers
        )
        with pytest.raises(RestSourceError, match=r"updated_at '2024-01-02T00:00:00' is a naive value"):
            ingest(s3, api, paginator={"type": "page_number", "page_size": 40, "total_path": "total"})
    assert raw_keys(s3) == []
    people[1]["updated_at"] = "2024-01-02T00:00:00Z"  # the source fixes the value: every row arrives, once
    again = offered_again(s3, people, paginator={"type": "page_number", "page_size": 40, "total_path": "total"})
    fault.bad_input("rest: naive timestamp among aware ones (through the API)", rows_in=len(people), rows_out=again)


def test_retry_after_beyond_the_cap_waits_only_the_cap(s3: Any, fault: Any) -> None:
    from dataplatform.local.apis import Faults

    people = sample_customers(5)
    with CustomerApi(people, TOKEN, faults=Faults(fail_times=1, fail_status=429, retry_after=3600)) as api:
        result = ingest(s3, api, max_retry_after_s=1, paginator={"type": "page_number", "total_path": "total"})
        assert len(api.requests) == 2
    assert result.rows == len(people)
    fault.injected("rest: 429 with Retry-After 3600", rows_in=len(people), rows_out=result.rows)


def test_fields_outside_a_frozen_contract_are_not_stored(s3: Any, fault: Any) -> None:
    people = [{**p, "Email": f"person{p['Customer_ID']}@example.com"} for p in sample_customers(3)]
    paginator = {"type": "page_number", "page_size": 40, "total_path": "total"}
    with CustomerApi(people, TOKEN) as api:
        frozen = ingest(s3, api, paginator=paginator)  # freeze is the default
        m = manifest(s3, frozen.manifest_uri)
        assert all("Email" not in r for r in jsonl_rows(s3, m)) and m["source"]["extra_columns"] == ["Email"]
        ds = dataset("customers", base_url=api.url, paginator=paginator)
        ds["contract"]["schema_drift"] = "evolve"
        evolving = run_ingest(
            request("customers", "run-2"), config=config(customers=ds), lake=LAKE, s3=s3, secrets=read_secret
        )
    assert all("Email" in r for r in jsonl_rows(s3, manifest(s3, evolving.manifest_uri)))
    fault.bad_input("rest: unreviewed field (e-mail) in the records", rows_in=3, rows_out=frozen.rows)
