"""Declarative REST source: auth, pagination, incremental parameter, records path, retries; pages -> JSON Lines gzip.

Retries on 429/5xx, connection errors and read timeouts are urllib3's `Retry` (exponential backoff with jitter,
Retry-After honoured). A body that arrives truncated or is not JSON is retried here, with the same backoff.
Parts close every `part_records` records at a page boundary; the time budget is only checked when a part closes,
so a continued run writes exactly the parts a single pass would.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from dataplatform.config.models import Dataset, RestSource
from dataplatform.ingest.base import IngestError, Progress, SourceJob, SourceServices
from dataplatform.ingest.raw_writer import GzipStreamUpload
from dataplatform.ingest.secrets import SecretReader, require_fields
from dataplatform.manifest import SchemaField

RETRY_STATUSES = (429, 500, 502, 503, 504)
PART_RECORDS = 50_000
SEEN_CURSORS_KEPT = 200
"""Loop-guard memory carried across Lambda calls (hashes of recent cursors/URLs)."""


class RestSourceError(IngestError):
    """The API failed in a way retries do not fix (or retries ran out)."""


class RestAuthError(RestSourceError):
    """The API rejected the credentials (401/403). The message names the secret, never its value."""


def build_session(source: RestSource) -> requests.Session:
    retry = Retry(
        total=source.max_retries,
        connect=source.max_retries,
        read=source.max_retries,
        status=source.max_retries,
        backoff_factor=source.backoff_s,
        backoff_jitter=source.backoff_s,
        backoff_max=60,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=True,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


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


def _later(a: str | None, b: str) -> str:
    """The later of two cursor values: as datetimes when both parse (mixed offsets), otherwise as strings."""
    if a is None:
        return b
    try:
        return (
            a
            if datetime.fromisoformat(a.replace("Z", "+00:00")) >= datetime.fromisoformat(b.replace("Z", "+00:00"))
            else b
        )
    except ValueError:
        return a if a >= b else b


def _fingerprint(value: Any) -> str:
    return hashlib.sha1(json.dumps(value, sort_keys=True).encode()).hexdigest()[:12]


class RestExtractor:
    def __init__(
        self,
        source: RestSource,
        secrets: SecretReader,
        session: requests.Session | None = None,
        part_records: int = PART_RECORDS,
    ) -> None:
        self.source = source
        self.secrets = secrets
        self.session = session or build_session(source)
        self.part_records = part_records
        self._redact: set[str] = set()

    @classmethod
    def for_dataset(cls, dataset: Dataset, services: SourceServices) -> RestExtractor:
        if not isinstance(dataset.source, RestSource):
            raise TypeError(f"RestExtractor cannot ingest a {dataset.source.kind} source")
        return cls(dataset.source, services.secrets)

    # ------------------------------------------------------------------ auth
    def _auth(self) -> tuple[dict[str, str], dict[str, str], tuple[str, str] | None]:
        auth = self.source.auth
        if auth.type == "none":
            return {}, {}, None
        assert auth.secret is not None  # the config model requires it
        secret = self.secrets(auth.secret)
        if auth.type == "bearer":
            (token,) = require_fields(auth.secret, secret, "token")
            self._redact.add(str(token))
            return {"Authorization": f"Bearer {token}"}, {}, None
        if auth.type == "api_key":
            (key,) = require_fields(auth.secret, secret, "api_key")
            self._redact.add(str(key))
            if auth.location == "header":
                return {auth.name: str(key)}, {}, None
            return {}, {auth.name: str(key)}, None
        user, password = require_fields(auth.secret, secret, "username", "password")
        self._redact.add(str(password))
        return {}, {}, (str(user), str(password))

    def _safe(self, text: str) -> str:
        for value in self._redact:
            text = text.replace(value, "***")
        return text

    # ------------------------------------------------------------------ HTTP
    def _get(
        self, url: str, params: dict[str, Any], headers: dict[str, str], auth: Any, page: int
    ) -> tuple[requests.Response, Any]:
        """One page and its parsed body; retries a truncated or non-JSON body like a 5xx."""
        where = f"GET {url} (page {page})"
        attempts = self.source.max_retries + 1
        for attempt in range(attempts):
            try:
                resp = self.session.get(url, params=params, headers=headers, auth=auth, timeout=self.source.timeout_s)
            except requests.exceptions.RetryError as exc:
                raise RestSourceError(
                    self._safe(f"{where}: gave up after {self.source.max_retries} retries: {exc}")
                ) from None
            except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
                # The body broke off after the headers; urllib3's Retry only covers failures before them.
                if attempt + 1 < attempts:
                    self._sleep(attempt)
                    continue
                raise RestSourceError(
                    self._safe(f"{where}: the response body was cut off {attempts} times (truncated): {exc}")
                ) from None
            except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as exc:
                raise RestSourceError(
                    self._safe(f"{where}: {type(exc).__name__} after {self.source.max_retries} retries: {exc}")
                ) from None
            if resp.status_code in (401, 403):
                secret = f" from secret '{self.source.auth.secret}'" if self.source.auth.secret else ""
                raise RestAuthError(
                    f"{where}: HTTP {resp.status_code}: the API rejected the "
                    f"{self.source.auth.type} credentials{secret}"
                )
            if resp.status_code >= 400:
                raise RestSourceError(self._safe(f"{where}: HTTP {resp.status_code}: {resp.text[:300]}"))
            try:
                body = resp.json()
            except (ValueError, requests.exceptions.RequestException) as exc:
                if attempt + 1 < attempts:
                    self._sleep(attempt)
                    continue
                raise RestSourceError(
                    f"{where}: the response body is not valid JSON after {attempts} attempts "
                    f"(truncated?): {str(exc)[:200]}"
                ) from None
            return resp, body
        raise AssertionError("unreachable")

    def _sleep(self, attempt: int) -> None:
        delay = min(60.0, self.source.backoff_s * (2**attempt)) + random.uniform(0, self.source.backoff_s)
        time.sleep(delay)

    # ------------------------------------------------------------------ records
    def _records(self, body: Any, where: str) -> list[dict[str, Any]]:
        if self.source.records_shape == "frankfurter_timeseries":
            return flatten_frankfurter(dig(body, self.source.records_path), where)
        records = dig(body, self.source.records_path)
        if records is None:
            records = []
        if not isinstance(records, list):
            raise RestSourceError(f"{where}: records_path {self.source.records_path!r} is not a list")
        bad = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None)
        if bad is not None:
            raise RestSourceError(f"{where}: record {bad} at {self.source.records_path!r} is not a JSON object")
        return records

    # ------------------------------------------------------------------ pages
    def _pages(self, job: SourceJob, state: dict[str, Any]) -> Iterator[tuple[list[dict[str, Any]], dict[str, Any]]]:
        """Yields (records, resume state after this page) until the last page."""
        src, pag = self.source, self.source.paginator
        headers, auth_params, basic = self._auth()
        window = {
            "window_start": job.request.window_start.isoformat(),
            "window_end": job.request.window_end.isoformat(),
        }
        first_url = src.base_url + src.path.format(**window)
        params: dict[str, Any] = {**src.params, **auth_params}
        if src.incremental:
            params[src.incremental.param] = job.previous_watermark or src.incremental.initial_value
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
                url, query = state["url"], {k: v for k, v in auth_params.items()}
            resp, body = self._get(url, query, headers, basic, pages + 1)
            where = f"GET {url} (page {pages + 1})"
            records = self._records(body, where)
            nxt: dict[str, Any] = {"pages": pages + 1}
            last = False
            if pag.type == "single_page":
                last = True
            elif pag.type in ("page_number", "offset"):
                total = dig(body, pag.total_path) if pag.total_path else None
                fetched = state.get("fetched", 0) + len(records)
                nxt["fetched"] = fetched
                if total is not None:
                    if not records and fetched < int(total):
                        raise RestSourceError(
                            f"{where}: empty page although the API reports {total} records and only {fetched} were "
                            "read; the API paged inconsistently, refusing to finish with a gap"
                        )
                    last = fetched >= int(total)
                else:
                    last = len(records) < pag.page_size  # a short (or empty) page is the last one
                if pag.type == "page_number":
                    nxt["page"] = state.get("page", pag.start_page) + 1
                else:
                    nxt["offset"] = state.get("offset", 0) + len(records)
            else:
                if pag.type == "cursor":
                    token = dig(body, pag.cursor_path)
                    nxt["cursor"] = token
                elif pag.type == "next_url":
                    token = dig(body, pag.next_url_path)
                    nxt["url"] = urljoin(url, token) if token else None
                else:
                    token = resp.links.get("next", {}).get("url")
                    nxt["url"] = urljoin(url, token) if token else None
                last = token in (None, "")
                if not last:
                    mark = _fingerprint(token)
                    if mark in seen:
                        raise RestSourceError(
                            f"{where}: the API returned the {pag.type} {self._safe(str(token))[:100]!r} again; "
                            "stopping a pagination loop"
                        )
                    seen = [*seen, mark][-SEEN_CURSORS_KEPT:]
                    nxt["seen"] = seen
            nxt["last"] = last
            state = nxt
            yield records, nxt
            if last:
                return

    def run(self, job: SourceJob) -> Progress:
        src = self.source
        pos = job.position or {"paging": {}, "watermark": None, "keys": []}
        if pos["paging"].get("last"):
            return self._done(job, pos)
        sink: GzipStreamUpload | None = None
        in_part = 0
        try:
            for records, paging in self._pages(job, pos["paging"]):
                for record in records:
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
                            pos["watermark"] = _later(pos["watermark"], str(value))
                pos["paging"] = paging
                if sink is not None and in_part >= self.part_records:
                    job.part_written(job.writer.finish_stream_part(job.next_part, sink, in_part))
                    sink, in_part = None, 0
                    if not paging["last"] and job.budget.exhausted():
                        return Progress(done=False, position=pos)
            if sink is not None:
                job.part_written(job.writer.finish_stream_part(job.next_part, sink, in_part))
                sink = None
        finally:
            if sink is not None:
                sink.abort()
        return self._done(job, pos)

    def _done(self, job: SourceJob, pos: dict[str, Any]) -> Progress:
        src = self.source
        proposed = job.previous_watermark
        if src.incremental:
            proposed = pos["watermark"] or job.previous_watermark or src.incremental.initial_value
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
            },
        )
