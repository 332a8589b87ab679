"""The HTTP side of the REST source: one session with retries, the credentials, and where they may go.

Retries on 429/5xx, connection errors and read timeouts are urllib3's `Retry` (exponential backoff with jitter,
Retry-After honoured up to `max_retry_after_s`). A body that arrives truncated or is not JSON is retried here,
with the same backoff.

Credentials go only to `base_url`'s origin (scheme, host and port): a next-page URL, a Link header or a redirect
that points anywhere else, or from https to http, fails the load before anything is sent there. Redirects are
followed here, not by requests, because requests keeps custom headers (an API key) on a cross-host redirect.
"""

from __future__ import annotations

import random
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from dataplatform.config.sources import RestSource, is_plain_http
from dataplatform.ingest.base import IngestError
from dataplatform.ingest.redaction import REDACTOR
from dataplatform.ingest.secrets import SecretReader, require_fields
from dataplatform.settings import running_on_aws

RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_REDIRECTS = 5
DEFAULT_PORTS = {"http": 80, "https": 443}


class RestSourceError(IngestError):
    """The API failed in a way retries do not fix (or retries ran out)."""


class RestAuthError(RestSourceError):
    """The API rejected the credentials (401/403). The message names the secret, never its value."""


class ForeignOriginError(RestSourceError):
    """A next page or redirect points away from base_url's origin: credentials must not follow it."""


def build_session(source: RestSource) -> requests.Session:
    retry = Retry(
        total=source.max_retries,
        connect=source.max_retries,
        read=source.max_retries,
        status=source.max_retries,
        redirect=False,
        backoff_factor=source.backoff_s,
        backoff_jitter=source.backoff_s,
        backoff_max=60,
        retry_after_max=int(source.max_retry_after_s),
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


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or DEFAULT_PORTS.get(scheme)


class RestClient:
    """GETs JSON pages from one API with its credentials, on its own origin only."""

    def __init__(self, source: RestSource, secrets: SecretReader, session: requests.Session | None = None) -> None:
        self.source = source
        self.secrets = secrets
        self.session = session or build_session(source)
        self.origin = origin(source.base_url)
        self._credentials: tuple[dict[str, str], dict[str, str], tuple[str, str] | None] | None = None

    # ------------------------------------------------------------------ auth
    @property
    def credentials(self) -> tuple[dict[str, str], dict[str, str], tuple[str, str] | None]:
        """(headers, query parameters, basic auth) for every request; read once."""
        if self._credentials is None:
            self._credentials = self._read_credentials()
        return self._credentials

    def _read_credentials(self) -> tuple[dict[str, str], dict[str, str], tuple[str, str] | None]:
        auth = self.source.auth
        if auth.type == "none":
            return {}, {}, None
        if is_plain_http(self.source.base_url) and running_on_aws():
            raise RestSourceError(
                f"{self.source.base_url}: allow_insecure is not honoured on AWS for a source with credentials; "
                "the API needs https:// before the secret can be sent"
            )
        assert auth.secret is not None  # the config model requires it
        secret = self.secrets(auth.secret)
        if auth.type == "bearer":
            (token,) = require_fields(auth.secret, secret, "token")
            REDACTOR.register(token)
            return {"Authorization": f"Bearer {token}"}, {}, None
        if auth.type == "api_key":
            (key,) = require_fields(auth.secret, secret, "api_key")
            REDACTOR.register(key)
            if auth.location == "header":
                return {auth.name: str(key)}, {}, None
            return {}, {auth.name: str(key)}, None
        user, password = require_fields(auth.secret, secret, "username", "password")
        REDACTOR.register_basic_auth(str(user), str(password))
        return {}, {}, (str(user), str(password))

    # ------------------------------------------------------------------ where credentials may go
    def check_origin(self, url: str, what: str, where: str) -> str:
        """`url` if it is on base_url's origin; otherwise ForeignOriginError (nothing is sent there)."""
        if origin(url) != self.origin:
            scheme, host, port = origin(url)
            base_scheme = self.origin[0]
            downgrade = " (a downgrade from https to http)" if base_scheme == "https" and scheme == "http" else ""
            raise ForeignOriginError(
                REDACTOR.redact(
                    f"{where}: the {what} points to {scheme}://{host}:{port}, not to base_url's origin "
                    f"{base_scheme}://{self.origin[1]}:{self.origin[2]}{downgrade}; refusing to send the request "
                    "(and the credentials) there"
                )
            )
        return url

    # ------------------------------------------------------------------ HTTP
    def get(self, url: str, params: dict[str, Any], page: int) -> tuple[requests.Response, Any]:
        """One page and its parsed body; retries a truncated or non-JSON body like a 5xx."""
        where = f"GET {url} (page {page})"
        self.check_origin(url, "request URL", where)
        attempts = self.source.max_retries + 1
        for attempt in range(attempts):
            try:
                resp = self._follow(url, params, where)
            except requests.exceptions.RetryError as exc:
                raise RestSourceError(
                    REDACTOR.redact(f"{where}: gave up after {self.source.max_retries} retries: {exc}")
                ) from None
            except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
                # The body broke off after the headers; urllib3's Retry only covers failures before them.
                if attempt + 1 < attempts:
                    self._sleep(attempt)
                    continue
                raise RestSourceError(
                    REDACTOR.redact(f"{where}: the response body was cut off {attempts} times (truncated): {exc}")
                ) from None
            except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as exc:
                raise RestSourceError(
                    REDACTOR.redact(f"{where}: {type(exc).__name__} after {self.source.max_retries} retries: {exc}")
                ) from None
            if resp.status_code in (401, 403):
                secret = f" from secret '{self.source.auth.secret}'" if self.source.auth.secret else ""
                raise RestAuthError(
                    f"{where}: HTTP {resp.status_code}: the API rejected the "
                    f"{self.source.auth.type} credentials{secret}"
                )
            if resp.status_code >= 400:
                raise RestSourceError(REDACTOR.redact(f"{where}: HTTP {resp.status_code}: {resp.text[:300]}"))
            try:
                body = resp.json()
            except (ValueError, requests.exceptions.RequestException) as exc:
                if attempt + 1 < attempts:
                    self._sleep(attempt)
                    continue
                raise RestSourceError(
                    REDACTOR.redact(
                        f"{where}: the response body is not valid JSON after {attempts} attempts "
                        f"(truncated?): {str(exc)[:200]}"
                    )
                ) from None
            return resp, body
        raise AssertionError("unreachable")

    def _follow(self, url: str, params: dict[str, Any], where: str) -> requests.Response:
        headers, auth_params, basic = self.credentials
        query: dict[str, Any] | None = {**params, **auth_params}
        for _ in range(MAX_REDIRECTS + 1):
            resp = self.session.get(
                url, params=query, headers=headers, auth=basic, timeout=self.source.timeout_s, allow_redirects=False
            )
            if not resp.is_redirect:
                return resp
            target = urljoin(resp.url, resp.headers["Location"])
            resp.close()
            url = self.check_origin(target, "redirect", where)
            query = dict(auth_params) or None  # the Location carries the page's own query
        raise RestSourceError(f"{where}: more than {MAX_REDIRECTS} redirects")

    def _sleep(self, attempt: int) -> None:
        delay = min(60.0, self.source.backoff_s * (2**attempt)) + random.uniform(0, self.source.backoff_s)
        time.sleep(delay)
