"""The canary secret of the redaction tests, the forms it travels in, and an API that echoes it back."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote, quote_plus

CANARY = "Canary/Secret+Value=42&x"
"""Has '/', '+', '=' and '&', so its URL-encoded forms differ from the raw value."""
USER = "etl-user"


def canary_forms(value: str = CANARY) -> dict[str, str]:
    b64 = base64.b64encode(value.encode()).decode()
    basic = base64.b64encode(f"{USER}:{value}".encode()).decode()
    return {
        "raw": value,
        "quote": quote(value, safe=""),
        "quote_plus": quote_plus(value),
        "base64": b64,
        "basic": basic,
    }


def find_canary(text: str) -> list[str]:
    """The names of the canary forms found in `text` ([] when clean)."""
    return [name for name, form in canary_forms().items() if form in text]


def echo(status: int) -> Any:
    """A broken API answering `status` with what it got (headers, query) in its body, raw and base64-encoded."""

    def handle(path: str, query: dict[str, str], headers: dict[str, str]) -> Any:
        seen = json.dumps({"headers": headers, "query": query})
        return status, {}, (seen + " b64:" + base64.b64encode(seen.encode()).decode()).encode()

    return handle
