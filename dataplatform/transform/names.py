"""Column naming: curated names are snake_case identifiers."""

from __future__ import annotations

import re


def snake_case(name: str) -> str:
    """`Transaction_ID` -> `transaction_id`, `StoreRegion` -> `store_region`, `unit price (€)` -> `unit_price`."""
    text = name.strip().lstrip("\ufeff")
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower()
    if not text:
        raise ValueError(f"column name {name!r} has no letters or digits")
    return f"c_{text}" if text[0].isdigit() else text
