"""A plain-Python reading of a dataset contract, used to compute the expected golden rows independently of Spark.

Deliberately simple and row-by-row: strip, blank -> None, parse with the contract's formats, check the rules,
convert through an as-of rate table, keep the latest row per key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any

from dataplatform.config.models import Column, Contract
from dataplatform.transform.names import REPORTING_CURRENCY_COLUMN, converted_name

SPARK_TO_STRPTIME = {"yyyy-MM-dd": "%Y-%m-%d", "dd/MM/yyyy": "%d/%m/%Y", "MM-dd-yyyy": "%m-%d-%Y"}
INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}


@dataclass
class RawRow:
    values: dict[str, Any]
    """Source name -> value as the raw file holds it (text for CSV/JSON, Python-typed for Parquet)."""
    order: tuple[Any, ...]
    """Ingest order for dedup ties: (ingested_at, file index, row index)."""
    ingest_date: date = date(2024, 3, 1)


@dataclass
class Outcome:
    accepted: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[tuple[dict[str, Any], set[tuple[str, str]]]] = field(default_factory=list)
    duplicates: int = 0


def normalized(text: str, column: Column) -> str:
    return {"upper": text.upper(), "lower": text.lower()}.get(column.normalize, text)


def parse(value: Any, column: Column) -> tuple[Any, bool]:
    """(typed value, present). A present value that does not parse is (None, True)."""
    if value is None:
        return None, False
    if isinstance(value, (Decimal, int, date, datetime, float)) and not isinstance(value, bool):
        typed: Any = value
        if column.type.startswith("decimal") and not isinstance(value, Decimal):
            typed = Decimal(str(value))
        if isinstance(typed, Decimal) and column.type.startswith("decimal"):
            scale = int(column.type.split(",")[1].rstrip(")"))
            typed = typed.quantize(Decimal(1).scaleb(-scale), ROUND_HALF_UP)
        return typed, True
    text = str(value).strip()
    if text == "":
        return None, False
    kind = column.type
    if kind == "string":
        return normalized(text, column), True
    if kind in INT_RANGES:
        low, high = INT_RANGES[kind]
        if re.fullmatch(r"[+-]?[0-9]+", text) and low <= int(text) <= high:
            return int(text), True
        return None, True
    if kind.startswith("decimal"):
        precision, scale = (int(x) for x in kind[8:-1].split(","))
        try:
            number = Decimal(text).quantize(Decimal(1).scaleb(-scale), ROUND_HALF_UP)
        except InvalidOperation:
            return None, True
        if len(number.as_tuple().digits) > precision or not re.fullmatch(r"[+-]?[0-9.eE+-]+", text):
            return None, True
        return number, True
    if kind == "date":
        for fmt in column.formats or ("yyyy-MM-dd",):
            try:
                return datetime.strptime(text, SPARK_TO_STRPTIME[fmt]).date(), True
            except ValueError:
                continue
        return None, True
    if kind == "timestamp":
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None, True
        if parsed.tzinfo is not None:  # instants are kept in UTC
            parsed = (parsed - parsed.utcoffset()).replace(tzinfo=None)
        return parsed, True
    raise AssertionError(f"reference: type {kind} not covered")


def failed_rules(typed: Any, column: Column) -> list[str]:
    failed = []
    for rule in column.rules:
        if typed is None or rule.kind == "not_null":
            continue
        if (
            (rule.kind == "positive" and not typed > 0)
            or (rule.kind == "non_negative" and not typed >= 0)
            or (rule.kind == "in_set" and str(typed) not in (rule.values or ()))
            or (rule.kind == "regex" and not re.search(rule.pattern or "", str(typed)))
        ):
            failed.append(rule.kind)
    return failed


Rates = list[dict[str, Any]]
"""Accepted exchange_rates records: base_currency, currency_code, rate_date, rate."""


def cross_rates(rates: Rates, currency: str, reporting_currency: str, day: date) -> tuple[Decimal, Decimal] | None:
    """(rate of the reporting currency, rate of `currency`) on one base, from the latest day on or before `day`
    that quotes both (the base itself is 1); None when there is no such day."""
    if currency == reporting_currency:
        return Decimal(1), Decimal(1)
    quoted: dict[tuple[str, date], dict[str, Decimal]] = {}
    for r in rates:
        legs = quoted.setdefault((r["base_currency"], r["rate_date"]), {r["base_currency"]: Decimal(1)})
        legs[r["currency_code"]] = r["rate"]
    usable = [(d, b) for (b, d), legs in quoted.items() if d <= day and currency in legs and reporting_currency in legs]
    if not usable:
        return None
    day_, base = max(usable)
    legs = quoted[(base, day_)]
    return legs[reporting_currency], legs[currency]


def convert(line: Decimal, to_rate: Decimal, from_rate: Decimal, scale: int) -> Decimal:
    """docs/contracts.md: line x to / from, rounded once, half away from zero, to the amount's scale."""
    with localcontext() as ctx:
        ctx.prec = 80
        exact = line * to_rate / from_rate
    return exact.quantize(Decimal(1).scaleb(-scale), ROUND_HALF_UP)


def run_contract(
    contract: Contract,
    rows: list[RawRow],
    *,
    reporting_currency: str = "USD",
    rates: Rates | None = None,
    extra_columns: dict[str, str] | None = None,
) -> Outcome:
    """Apply the contract to raw rows. extra_columns: curated name -> source name of evolved columns."""
    out = Outcome()
    keep: list[tuple[dict[str, Any], RawRow]] = []
    for row in rows:
        record: dict[str, Any] = {}
        reasons: set[tuple[str, str]] = set()
        for column in contract.columns:
            if column.source_name in row.values:
                raw = row.values[column.source_name]
            elif column.name == contract.partition_column:
                raw = row.ingest_date.isoformat()
            else:
                raw = None
            typed, present = parse(raw, column)
            required = not column.nullable or column.name in contract.key or column.name == contract.partition_column
            if required and not present:
                reasons.add((column.name, "not_null"))
            if present and typed is None:
                reasons.add((column.name, "cast"))
            reasons.update((column.name, r) for r in failed_rules(typed, column))
            record[column.name] = typed
        for curated, source in (extra_columns or {}).items():
            value = row.values.get(source)
            record[curated] = None if value is None or str(value).strip() == "" else str(value).strip()
        conv = contract.currency
        if conv:
            cur, day = record[conv.currency_column], record[conv.date_column]
            legs = None
            if cur is not None and day is not None:
                legs = cross_rates(rates or [], cur, reporting_currency, day)
                if legs is None:
                    reasons.add((conv.currency_column, "exchange_rate"))
            per_unit = conv.quantity_column is not None
            for amount in conv.amount_columns:
                scale = int(contract.column(amount).type.split(",")[1].rstrip(")"))
                line = record[amount]
                if line is not None and per_unit:
                    quantity = record[conv.quantity_column]
                    line = None if quantity is None else line * quantity
                converted = None if line is None or legs is None else convert(line, *legs, scale)
                record[converted_name(amount, per_unit=per_unit)] = converted
            record[REPORTING_CURRENCY_COLUMN] = reporting_currency
        if reasons:
            out.quarantined.append((row.values, reasons))
        else:
            keep.append((record, row))
    latest: dict[tuple[Any, ...], tuple[dict[str, Any], RawRow]] = {}
    for record, row in keep:
        key = tuple(record[k] for k in contract.key)
        rank = ((record[contract.updated_at],) if contract.updated_at else ()) + row.order
        if key not in latest:
            latest[key] = (record, row)
            continue
        current_record, current_row = latest[key]
        current_rank = ((current_record[contract.updated_at],) if contract.updated_at else ()) + current_row.order
        if rank > current_rank:
            latest[key] = (record, row)
        out.duplicates += 1
    out.accepted = [record for record, _ in latest.values()]
    return out
