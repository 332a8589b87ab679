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


def is_code(column: Column) -> bool:
    if column.type != "string":
        return False
    return any(
        (r.kind == "in_set" and all(v == v.upper() for v in r.values or ()))
        or (r.kind == "regex" and (r.pattern or "").startswith("^[A-Z"))
        for r in column.rules
    )


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
        return (text.upper() if is_code(column) else text), True
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


def as_of_rate(rates: dict[tuple[str, date], Decimal], currency: str, day: date) -> Decimal | None:
    days = [d for (c, d) in rates if c == currency and d <= day]
    return rates[(currency, max(days))] if days else None


def convert(amount: Decimal, rate: Decimal, scale: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 60
        # Spark divides decimal(12,2) by decimal(18,8) at scale 20, then rounds to the output scale (both half-up).
        exact = (amount / rate).quantize(Decimal(1).scaleb(-20), ROUND_HALF_UP)
    return exact.quantize(Decimal(1).scaleb(-scale), ROUND_HALF_UP)


def run_contract(
    contract: Contract,
    rows: list[RawRow],
    *,
    reporting_currency: str = "USD",
    rates: dict[tuple[str, date], Decimal] | None = None,
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
            rate = None
            if cur is not None and day is not None:
                rate = Decimal(1) if cur == reporting_currency else as_of_rate(rates or {}, cur, day)
                if rate is None:
                    reasons.add((conv.currency_column, "exchange_rate"))
            for amount in conv.amount_columns:
                scale = int(contract.column(amount).type.split(",")[1].rstrip(")"))
                value = record[amount]
                converted = None if value is None or rate is None else convert(value, rate, scale)
                record[f"{amount}_{reporting_currency.lower()}"] = converted
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
