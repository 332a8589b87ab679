"""One redaction filter for everything an ingest call emits: log records, exceptions and the Lambda's output.

Every secret value registers itself here when it is read (`secrets.SecretsManagerReader`), together with the
forms it travels in: URL-encoded (a query parameter, a connection URI) and base64 (a Basic auth header, or a
token someone encoded). `redact` replaces each form with `***`. What leaves an ingest Lambda (its log lines, its
error, which becomes the Step Functions error cause, and from there the SNS message and the audit record, and its
result payload) passes through here, so downstream steps never see a secret they could leak.

The registry is per process: one Lambda container, or the local runner, which calls the handlers in-process.
"""

from __future__ import annotations

import base64
import logging
import threading
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_CHARS = 4
"""Shorter values (a port, `etl`) would mangle unrelated text and protect nothing."""


def secret_forms(value: str) -> set[str]:
    """The raw value and the encodings it is sent or logged in."""
    forms = {value, quote(value, safe=""), quote(value), quote_plus(value)}
    encoded = value.encode()
    for b64 in (base64.b64encode(encoded), base64.urlsafe_b64encode(encoded)):
        text = b64.decode()
        forms.update({text, text.rstrip("=")})
    return {f for f in forms if len(f) >= MIN_SECRET_CHARS}


class Redactor:
    def __init__(self) -> None:
        self._forms: list[str] = []
        self._lock = threading.Lock()

    def register(self, value: Any) -> None:
        text = str(value)
        if len(text) < MIN_SECRET_CHARS:
            return
        with self._lock:
            # Longest first, so a value that contains another is masked as a whole.
            self._forms = sorted(set(self._forms) | secret_forms(text), key=len, reverse=True)

    def register_basic_auth(self, user: str, password: str) -> None:
        """The Authorization header of Basic auth is base64("user:password"), which contains neither alone."""
        self.register(password)
        self.register(f"{user}:{password}")

    def redact(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def redact_value(self, value: Any) -> Any:
        """A JSON-like value with every string redacted (payloads, records)."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {self.redact_value(k): self.redact_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_value(v) for v in value]
        return value

    def redact_exception(self, exc: BaseException) -> BaseException:
        """Masks secrets in the messages of `exc` and of every exception it chains to, in place.

        A traceback holds messages and source lines, never local values, so clean messages make a clean trace.
        """
        seen: set[int] = set()
        current: BaseException | None = exc
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            self._redact_args(current)
            current = current.__cause__ or current.__context__
        return exc

    def _redact_args(self, exc: BaseException) -> None:
        exc.args = tuple(self.redact(a) if isinstance(a, str) else self.redact_value(a) for a in exc.args)
        if isinstance(exc, OSError):
            for attr in ("strerror", "filename", "filename2"):
                value = getattr(exc, attr, None)
                if isinstance(value, str):
                    setattr(exc, attr, self.redact(value))
        notes = getattr(exc, "__notes__", None)
        if notes:
            exc.__notes__ = [self.redact(n) for n in notes]

    def leaks(self, exc: BaseException) -> bool:
        """Whether the exception's text still shows a secret (an exception type that ignores its args)."""
        text = str(exc)
        return any(form in text for form in self._forms)


REDACTOR = Redactor()

_STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class RedactingFilter(logging.Filter):
    """Masks secrets in a log record's message, its extra fields and its exception before any handler formats it."""

    def __init__(self, redactor: Redactor = REDACTOR) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        r = self.redactor
        record.msg = r.redact(record.getMessage())
        record.args = None
        for name, value in list(record.__dict__.items()):
            if name not in _STANDARD_ATTRIBUTES:
                record.__dict__[name] = r.redact_value(value)
        if record.exc_info and record.exc_info[1] is not None:
            r.redact_exception(record.exc_info[1])
            record.exc_text = None  # formatted again from the cleaned exception
        if record.stack_info:
            record.stack_info = r.redact(record.stack_info)
        return True


def install_log_redaction(*loggers: logging.Logger) -> None:
    """Adds the filter to the given loggers, their handlers and the root logger's handlers (library logs), once."""
    targets: list[logging.Filterer] = [*loggers, *logging.getLogger().handlers]
    for logger in loggers:
        targets.extend(logger.handlers)
    for target in targets:
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())
