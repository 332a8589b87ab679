"""Column naming: curated names are snake_case identifiers; converted amounts have names that do not depend on
the reporting currency. No pyspark here: the config models validate contracts with these rules."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dataplatform.config.models import Contract


def snake_case(name: str) -> str:
    """`Transaction_ID` -> `transaction_id`, `StoreRegion` -> `store_region`, `unit price (€)` -> `unit_price`."""
    text = name.strip().lstrip("\ufeff")
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower()
    if not text:
        raise ValueError(f"column name {name!r} has no letters or digits")
    return f"c_{text}" if text[0].isdigit() else text


REPORTING_CURRENCY_COLUMN = "reporting_currency"
"""Curated column naming the currency of the converted amounts (the same on every row of one configuration)."""
RATES_COLUMNS = ("base_currency", "currency_code", "rate_date", "rate")
"""Columns conversion reads from the rates dataset: `rate` units of `currency_code` per 1 `base_currency`."""
RATE_SCALE = 10
"""Conversion computes with rates as decimal(2 x RATE_SCALE, RATE_SCALE): the rates contract must fit it."""
MAX_AMOUNT_SCALE = 6
"""Amount columns that are converted have at most this many decimals (see transform/currency.py's types)."""


def converted_name(amount: str, *, per_unit: bool) -> str:
    """The curated column holding `amount` in the reporting currency, whatever that currency is:
    `<amount>_reporting`; for a unit price (the contract sets `currency.quantity_column`) it holds the converted
    line amount, `line_<amount>_reporting`."""
    return f"line_{amount}_reporting" if per_unit else f"{amount}_reporting"


def converted_type(amount_type: str) -> str:
    """decimal(19, s) for an amount of type decimal(p, s): conversion yields a 64-bit count of 10^-s units."""
    match = re.fullmatch(r"decimal\((\d+),(\d+)\)", amount_type)
    if not match:
        raise ValueError(f"a converted amount must have a decimal(p,s) type, not {amount_type!r}")
    return f"decimal(19,{int(match.group(2))})"


def converted_columns(contract: Contract) -> list[tuple[str, str]]:
    """(name, type) of the columns currency conversion adds to a dataset's curated rows, in their order."""
    conv = contract.currency
    if conv is None:
        return []
    per_unit = conv.quantity_column is not None
    return [
        *[(converted_name(a, per_unit=per_unit), converted_type(contract.column(a).type)) for a in conv.amount_columns],
        (REPORTING_CURRENCY_COLUMN, "string"),
    ]
