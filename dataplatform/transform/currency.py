"""Conversion of amounts to the reporting currency through the curated exchange-rates dataset.

Rates: rows (base_currency, currency_code, rate_date, rate), `rate` = units of `currency_code` per 1
`base_currency`, as the source publishes them (the sample fetches the ECB's own base, EUR, which a
Frankfurter-style API serves unrounded). Any base works: conversion uses cross rates on one base and day,

    amount_reporting = line amount x rate(reporting) / rate(currency)

with rate(base) = 1. The day is the latest rate_date on or before the row's date on which the rates quote both
currencies on the same base (weekends and holidays take the previous business day); a row in the reporting currency
converts at 1; no such day -> the row goes to quarantine, rule `exchange_rate`.

Rounding, once: the exact quotient is rounded half away from zero to the amount's scale (cents for decimal(p,2)).
The line amount is the amount itself, or amount x quantity when the contract names a quantity column (unit
prices), so a line is never a multiple of a rounded unit price. The quotient is taken with an exact integer
division (`div` on decimals is BigDecimal.divideToIntegralValue), because Spark's decimal `/` first rounds to a
scale that depends on the operand types (as few as 6 decimals), and a second rounding can then move a half-cent.

Exact as long as the values fit the types below (for scale s: line amounts below 10^(17-s), rates as
decimal(20,10), line x rate below 10^(20-s), the result below 10^(18-s)): a line that does not fit goes to
quarantine with rule `exchange_rate` instead of being converted approximately.

The as-of lookup joins only the distinct (currency, day) pairs of the batch against the rates (a small range
join), then equi-joins the result back, so cost does not grow with rows x rate days.
"""

from __future__ import annotations

from decimal import Decimal

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dataplatform.config.models import Contract
from dataplatform.transform.names import RATE_SCALE, REPORTING_CURRENCY_COLUMN, converted_name, converted_type

RATE_TYPE = f"decimal({2 * RATE_SCALE},{RATE_SCALE})"
LINE_DIGITS = 17
"""Digits (integer and fraction) of a line amount that conversion handles exactly."""
PRODUCT_DIGITS = 30
"""Digits of line x rate(reporting); with its scale s + RATE_SCALE, 2 x 10^s times it still fits decimal(38)."""
TO_RATE = "_rate_to"
FROM_RATE = "_rate_from"


def attach_rates(
    rows: DataFrame,
    rates: DataFrame | None,
    *,
    currency: str,
    day: str,
    reporting_currency: str,
) -> DataFrame:
    """Add `_rate_to` and `_rate_from`: the rates of the reporting currency and of the row's currency on one base
    and one day (both 1 for the reporting currency itself); null when no rate applies."""
    one = F.lit(1).cast(RATE_TYPE)
    is_reporting = F.col(currency) == F.lit(reporting_currency)
    if rates is None:
        return rows.withColumn(TO_RATE, F.when(is_reporting, one)).withColumn(FROM_RATE, F.when(is_reporting, one))
    quoted = rates.select(
        F.col("base_currency").alias("_fx_base"),
        F.col("currency_code").alias("_fx_code"),
        F.col("rate_date").alias("_fx_date"),
        F.col("rate").cast(RATE_TYPE).alias("_fx_rate"),
    )
    # The base itself is worth 1 base unit on every day the base quotes anything.
    bases = quoted.select("_fx_base", F.col("_fx_base").alias("_fx_code"), "_fx_date", one.alias("_fx_rate"))
    legs = quoted.unionByName(bases.distinct())
    target = legs.where(F.col("_fx_code") == reporting_currency).select(
        F.col("_fx_base").alias("_to_base"), F.col("_fx_date").alias("_to_date"), F.col("_fx_rate").alias("_to_rate")
    )
    pairs = (
        rows.select(F.col(currency).alias("_fx_cur"), F.col(day).alias("_fx_day"))
        .where(F.col("_fx_cur").isNotNull() & F.col("_fx_day").isNotNull() & (F.col("_fx_cur") != reporting_currency))
        .distinct()
    )
    candidates = pairs.join(legs, (pairs["_fx_cur"] == legs["_fx_code"]) & (legs["_fx_date"] <= pairs["_fx_day"])).join(
        target, (F.col("_fx_base") == F.col("_to_base")) & (F.col("_fx_date") == F.col("_to_date"))
    )
    as_of = candidates.groupBy("_fx_cur", "_fx_day").agg(
        # The latest day quoting both; the base breaks a tie so the pick is deterministic.
        F.max_by(F.struct("_to_rate", "_fx_rate"), F.struct("_fx_date", "_fx_base")).alias("_fx_pair")
    )
    joined = rows.join(
        F.broadcast(as_of),
        (rows[currency] == as_of["_fx_cur"]) & (rows[day] == as_of["_fx_day"]),
        "left",
    )
    return (
        joined.withColumn(TO_RATE, F.when(is_reporting, one).otherwise(F.col("_fx_pair._to_rate")))
        .withColumn(FROM_RATE, F.when(is_reporting, one).otherwise(F.col("_fx_pair._fx_rate")))
        .drop("_fx_cur", "_fx_day", "_fx_pair")
    )


def add_converted_amounts(rows: DataFrame, contract: Contract, reporting_currency: str) -> DataFrame:
    """Add every converted amount (names: transform/names.py) and the `reporting_currency` column to rows that
    carry `_rate_to` / `_rate_from`. A converted amount is null when a rate is missing or the line does not fit
    the exact types; `conversion_failed` tells the second case apart."""
    conv = contract.currency
    assert conv is not None
    per_unit = conv.quantity_column is not None
    out = rows
    for amount in conv.amount_columns:
        amount_type = contract.column(amount).type
        scale = int(converted_type(amount_type).rstrip(")").split(",")[1])
        line = _line(amount, conv.quantity_column)
        magnitude = F.abs(line).cast(f"decimal({LINE_DIGITS},{scale})")
        product = (magnitude * F.col(TO_RATE)).cast(f"decimal({PRODUCT_DIGITS},{scale + RATE_SCALE})")
        # round_half_up(p / r, scale) = floor(p * 10^scale / r + 1/2) = (2 * 10^scale * p + r) div (2 * r)
        out = out.withColumn("_fx_num", product * F.lit(Decimal(2 * 10**scale)) + F.col(FROM_RATE)).withColumn(
            "_fx_den", F.col(FROM_RATE) * F.lit(Decimal(2))
        )
        # `div` yields a 64-bit count of 10^-scale units: bound the quotient first (decimal `/` is close enough).
        fits = (product / F.col(FROM_RATE)) < F.lit(Decimal(10 ** (18 - scale)))
        units = F.when(fits, F.expr("_fx_num div _fx_den"))
        value = (units.cast("decimal(19,0)") * F.lit(Decimal(1).scaleb(-scale))).cast(converted_type(amount_type))
        out = out.withColumn(converted_name(amount, per_unit=per_unit), F.when(line < 0, -value).otherwise(value))
    return out.drop("_fx_num", "_fx_den").withColumn(REPORTING_CURRENCY_COLUMN, F.lit(reporting_currency))


def conversion_failed(contract: Contract) -> SparkColumn:
    """True for a row whose rates are there but one of whose amounts did not convert (it does not fit)."""
    conv = contract.currency
    assert conv is not None
    per_unit = conv.quantity_column is not None
    failed = F.lit(False)
    for amount in conv.amount_columns:
        converted = F.col(converted_name(amount, per_unit=per_unit))
        line = _line(amount, conv.quantity_column)
        failed = failed | (line.isNotNull() & F.col(TO_RATE).isNotNull() & converted.isNull())
    return failed


def _line(amount: str, quantity: str | None) -> SparkColumn:
    return F.col(amount) * F.col(quantity) if quantity else F.col(amount)
