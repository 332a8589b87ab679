"""Declarative REST source: pagination, records path, incremental parameter; pages -> JSON Lines gzip.

No silent gaps: a page whose records path is missing fails the load; page_number and offset paging read until an
empty page (or the reported total), so a server that serves fewer records than `page_size` is read completely;
a page (or next cursor/URL) that repeats an earlier one fails as a pagination loop. A failed load writes nothing
and proposes no watermark.

Incremental: the stored watermark is sent in `incremental.param`; the proposed watermark is the greatest
`cursor_field` value read, but at most the extract's start less `lag_seconds` (as Postgres does) and never below the
stored one. Timestamps with and without a UTC offset cannot be ordered against each other, so a mix fails the
load.

Parts close every `part_records` records at a page boundary, or when the time budget runs short (checked after
every page), and the call then returns a continuation cursor.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import requests

from dataplatform.config.models import Contract, Dataset, RestSource
from dataplatform.ingest.base import Progress, SourceJob, SourceServices, contract_column_test
from dataplatform.ingest.raw_writer import GzipStreamUpload
from dataplatform.ingest.redaction import REDACTOR
from dataplatform.ingest.rest_http import RestAuthError, RestClient, RestSourceError, build_session
from dataplatform.ingest.secrets import SecretReader
from dataplatform.manifest import SchemaField

__all__ = ["RestAuthError", "RestExtractor", "RestSourceError", "build_session"]

PART_RECORDS = 50_000
SEEN_KEPT = 200
"""Loop-guard memory carried across Lambda calls (hashes of recent cursors, URLs and pages)."""


def dig(body: Any, path: str | None) -> Any:
    """Value at a dotted path (`data`, `result.items`); None when any step is absent."""
    if not path:
        return body
    value = body
    for step in path.split("."):
        if isinstance(value, dict):
            value = value.get(step)
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return None
    return value


def flatten_frankfurter(body: Any, where: str) -> list[dict[str, Any]]:
    """`{"base": B, "rates": {date: {code: rate}}}` (time series) or `{"base", "date", "rates": {code: rate}}`."""
    if not isinstance(body, dict) or not isinstance(body.get("rates"), dict) or "base" not in body:
        raise RestSourceError(f"{where}: expected Frankfurter JSON with 'base' and 'rates', got {str(body)[:200]!r}")
    base, rates = body["base"], body["rates"]
    if "date" in body and all(not isinstance(v, dict) for v in rates.values()):
        rates = {body["date"]: rates}
    rows: list[dict[str, Any]] = []
    for day in sorted(rates):
        for code in sorted(rates[day]):
            rows.append({"base_currency": base, "currency_code": code, "rate_date": day, "rate": rates[day][code]})
    return rows


# ---------------------------------------------------------------------------------------------- cursor values


def cursor_order(value: str) -> tuple[str, Any]:
    """(kind, comparable) of a cursor value: an aware or naive timestamp, a number, or text."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            return "number", float(value)
        except ValueError:
            return "text", value
    return ("aware" if parsed.tzinfo is not None else "naive"), parsed


def later(current: str | None, value: str, field: str, where: str) -> str:
    """The later of two cursor values; values of different kinds (naive vs aware timestamps) fail the load."""
    if current is None:
        return value
    (kind_a, a), (kind_b, b) = cursor_order(current), cursor_order(value)
    if kind_a != kind_b:
        raise RestSourceError(
            f"{where}: {field} {value!r} is a {kind_b} value but {current!r} is {kind_a}; timestamps with and "
            "without a UTC offset (or numbers and text) cannot be ordered, so the watermark would be wrong. "
            "Make the API return one form, or use another cursor_field"
        )
    return current if a >= b else value


def capped(value: str, started: datetime, seconds: int) -> str:
    """`value`, or `started - seconds` written in the same form (Z, an offset, or none: UTC) when that is
    earlier. Values that are not timestamps are not capped."""
    kind, parsed = cursor_order(value)
    if seconds == 0 or kind not in ("aware", "naive"):
        return value
    cap = started.astimezone(UTC) - timedelta(seconds=seconds)
    cap = cap.replace(tzinfo=None) if kind == "naive" else cap.astimezone(parsed.tzinfo)
    if parsed <= cap:
        return value
    text = cap.isoformat()
    return text.replace("+00:00", "Z") if value.endswith("Z") else text


def _fingerprint(value: Any) -> str:
    return hashlib.sha1(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------- source


class RestExtractor:
    def __init__(
        self,
        source: RestSource,
        secrets: SecretReader,
        session: requests.Session | None = None,
        part_records: int = PART_RECORDS,
        contract: Contract | None = None,
    ) -> None:
        self.source = source
        self.client = RestClient(source, secrets, session)
        self.part_records = part_records
        # Unless the contract evolves, fields it does not name are not stored (an unreviewed e-mail address stays
        # out of the lake); their names are listed in the manifest.
        self.keep = None if contract is None or contract.schema_drift == "evolve" else contract_column_test(contract)

    @classmethod
    def for_dataset(cls, dataset: Dataset, services: SourceServices) -> RestExtractor:
        if not isinstance(dataset.source, RestSource):
            raise TypeError(f"RestExtractor cannot ingest a {dataset.source.kind} source")
        return cls(dataset.source, services.secrets, contract=dataset.contract)

    # ------------------------------------------------------------------ records
    def _records(self, body: Any, where: str) -> list[dict[str, Any]]:
        path = self.source.records_path
        if self.source.records_shape == "frankfurter_timeseries":
            return flatten_frankfurter(dig(body, path), where)
        records = dig(body, path)
        if records is None:
            keys = ", ".join(sorted(body)[:20]) if isinstance(body, dict) else type(body).__name__
            raise RestSourceError(
                f"{where}: records_path {path!r} is missing from the response (it has: {keys}); an absent list is "
                "not an empty page, so the load stops instead of skipping it"
            )
        if not isinstance(records, list):
            raise RestSourceError(f"{where}: records_path {path!r} is not a list")
        bad = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None)
        if bad is not None:
            raise RestSourceError(f"{where}: record {bad} at {path!r} is not a JSON object")
        return records

    # ------------------------------------------------------------------ pages
    def _first_request(self, job: SourceJob) -> tuple[str, dict[str, Any]]:
        src = self.source
        window = {
            "window_start": job.request.window_start.isoformat(),
            "window_end": job.request.window_end.isoformat(),
        }
        params: dict[str, Any] = dict(src.params)
        if src.incremental:
            params[src.incremental.param] = job.previous_watermark or src.incremental.initial_value
        return src.base_url + src.path.format(**window), params

    def _pages(self, job: SourceJob, state: dict[str, Any]) -> Iterator[tuple[list[dict[str, Any]], dict[str, Any]]]:
        """Yields (records, resume state after this page) until the last page."""
        src, pag = self.source, self.source.paginator
        first_url, params = self._first_request(job)
        seen = list(state.get("seen", []))
        while True:
            pages = state.get("pages", 0)
            if pages >= src.max_pages:
                raise RestSourceError(
                    f"GET {first_url}: more than max_pages={src.max_pages} pages; stopping (raise max_pages?)"
                )
            url, query = first_url, dict(params)
            if pag.type == "page_number":
                query[pag.page_param] = state.get("page", pag.start_page)
                query[pag.limit_param] = pag.page_size
            elif pag.type == "offset":
                query[pag.offset_param] = state.get("offset", 0)
                query[pag.limit_param] = pag.page_size
            elif pag.type == "cursor" and state.get("cursor") is not None:
                query[pag.cursor_param] = state["cursor"]
            elif pag.type in ("next_url", "link_header") and state.get("url"):
                url, query = state["url"], {}
            resp, body = self.client.get(url, query, pages + 1)
            where = f"GET {url} (page {pages + 1})"
            records = self._records(body, where)
            nxt: dict[str, Any] = {"pages": pages + 1}
            if pag.type == "single_page":
                last = True
            elif pag.type in ("page_number", "offset"):
                last, seen = self._range_page(state, nxt, body, records, seen, where)
            else:
                last, seen = self._reference_page(resp, body, url, nxt, seen, where)
            nxt["seen"] = seen
            nxt["last"] = last
            state = nxt
            yield records, nxt
            if last:
                return

    def _range_page(
        self,
        state: dict[str, Any],
        nxt: dict[str, Any],
        body: Any,
        records: list[dict[str, Any]],
        seen: list[str],
        where: str,
    ) -> tuple[bool, list[str]]:
        """page_number / offset: the last page is the one reaching the reported total, else the first empty one.

        A short page is not the end: a server may serve fewer records than `page_size` asks for (a cap).
        """
        pag = self.source.paginator
        fetched = state.get("fetched", 0) + len(records)
        nxt["fetched"] = fetched
        total = dig(body, pag.total_path) if pag.total_path else None
        if pag.total_path and total is None:
            raise RestSourceError(f"{where}: total_path {pag.total_path!r} is missing from the response")
        if total is not None:
            if not records and fetched < int(total):
                raise RestSourceError(
                    f"{where}: empty page although the API reports {total} records and only {fetched} were "
                    "read; the API paged inconsistently, refusing to finish with a gap"
                )
            last = fetched >= int(total)
        else:
            last = not records
        if records:
            mark = _fingerprint(records)
            if mark in seen:
                raise RestSourceError(
                    f"{where}: the page repeats the records of an earlier page (the API ignores "
                    f"{pag.page_param if pag.type == 'page_number' else pag.offset_param!r}?); stopping a "
                    "pagination loop"
                )
            seen = [*seen, mark][-SEEN_KEPT:]
        if pag.type == "page_number":
            nxt["page"] = state.get("page", pag.start_page) + 1
        else:
            nxt["offset"] = state.get("offset", 0) + len(records)
        return last, seen

    def _reference_page(
        self, resp: requests.Response, body: Any, url: str, nxt: dict[str, Any], seen: list[str], where: str
    ) -> tuple[bool, list[str]]:
        """cursor / next_url / link_header: the last page is the one without a next reference."""
        pag = self.source.paginator
        if pag.type == "cursor":
            token = dig(body, pag.cursor_path)
            nxt["cursor"] = token
        else:
            token = dig(body, pag.next_url_path) if pag.type == "next_url" else resp.links.get("next", {}).get("url")
            if token:
                nxt["url"] = self.client.check_origin(urljoin(url, str(token)), f"{pag.type} next page", where)
        if token in (None, ""):
            return True, seen
        mark = _fingerprint(token)
        if mark in seen:
            raise RestSourceError(
                f"{where}: the API returned the {pag.type} {REDACTOR.redact(str(token))[:100]!r} again; "
                "stopping a pagination loop"
            )
        return False, [*seen, mark][-SEEN_KEPT:]

    # ------------------------------------------------------------------ run
    def run(self, job: SourceJob) -> Progress:
        src = self.source
        pos = job.position or {"paging": {}, "watermark": None, "keys": [], "started": datetime.now(UTC).isoformat()}
        if pos["paging"].get("last"):
            return self._done(job, pos)
        sink: GzipStreamUpload | None = None
        in_part = 0
        try:
            for records, paging in self._pages(job, pos["paging"]):
                where = f"page {paging['pages']}"
                for record in records:
                    if self.keep is not None:
                        record = self._contract_fields(record, pos)
                    if sink is None:
                        sink = job.writer.open_gzip_part(job.next_part, "application/gzip")
                    sink.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode() + b"\n")
                    in_part += 1
                    for k in record:
                        if k not in pos["keys"]:
                            pos["keys"].append(k)
                    if src.incremental:
                        value = record.get(src.incremental.cursor_field)
                        if value is not None:
                            pos["watermark"] = later(pos["watermark"], str(value), src.incremental.cursor_field, where)
                pos["paging"] = paging
                out_of_time = not paging["last"] and job.budget.exhausted()
                if sink is not None and (in_part >= self.part_records or out_of_time):
                    job.part_written(job.writer.finish_stream_part(job.next_part, sink, in_part))
                    sink, in_part = None, 0
                if out_of_time:
                    return Progress(done=False, position=pos)
            if sink is not None:
                job.part_written(job.writer.finish_stream_part(job.next_part, sink, in_part))
                sink = None
        finally:
            if sink is not None:
                sink.abort()
        return self._done(job, pos)

    def _contract_fields(self, record: dict[str, Any], pos: dict[str, Any]) -> dict[str, Any]:
        assert self.keep is not None
        kept = {k: v for k, v in record.items() if self.keep(k)}
        if len(kept) < len(record):
            dropped = pos.setdefault("dropped", [])
            dropped.extend(k for k in record if k not in kept and k not in dropped)
        return kept

    def _done(self, job: SourceJob, pos: dict[str, Any]) -> Progress:
        src = self.source
        proposed = job.previous_watermark
        if src.incremental:
            inc = src.incremental
            stored = job.previous_watermark or inc.initial_value
            proposed = stored
            if pos["watermark"] is not None:
                started = datetime.fromisoformat(pos.get("started") or datetime.now(UTC).isoformat())
                newest = capped(pos["watermark"], started, inc.lag_seconds)
                proposed = later(stored, newest, inc.cursor_field, "watermark")  # never back
        return Progress(
            done=True,
            proposed_watermark=proposed,
            schema=[SchemaField(name=k, type="json") for k in pos["keys"]],
            source_info={
                "kind": "rest",
                "url": src.base_url + src.path,
                "paginator": src.paginator.type,
                "records_shape": src.records_shape,
                "pages": pos["paging"].get("pages", 0),
                "extra_columns": sorted(pos.get("dropped", [])),
            },
        )
