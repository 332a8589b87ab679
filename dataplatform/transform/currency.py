"""Conversion of amounts to the reporting currency through the curated exchange-rates dataset.

Semantics: the rates dataset holds rows (base_currency, currency_code, rate_date, rate) where `rate` is the
number of `currency_code` units per 1 `base_currency` (Frankfurter/ECB with base=USD: EUR 0.92 means 1 USD =
0.92 EUR). Only rows whose base is the reporting currency are used. For a row in currency C on day D:
- C == reporting currency: rate 1;
- else the rate of C on D, or on the nearest earlier day that has one (weekends, holidays);
- no such rate (unknown currency, or D before the first rate): the row goes to quarantine, rule `exchange_rate`.
amount_<reporting lower> = amount / rate, rounded half-up to the amount's scale, as decimal(min(p+6, 38), s).

The as-of lookup joins only the distinct (currency, day) pairs of the batch against the rates (a small range
join), then equi-joins the result back, so cost does not grow with rows x rate days.
"""

from __future__ import annotations

import re

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

RATE_TYPE = "decimal(18,8)"
RATE_COLUMN = "_rate"


def converted_name(amount: str, reporting_currency: str) -> str:
    return f"{amount}_{reporting_currency.lower()}"


def converted_type(amount_type: str) -> str:
    match = re.match(r"decimal\((\d+),(\d+)\)", amount_type)
    if not match:
        return "decimal(38,6)"
    precision, scale = int(match.group(1)), int(match.group(2))
    return f"decimal({min(precision + 6, 38)},{scale})"


def attach_rates(
    rows: DataFrame,
    rates: DataFrame | None,
    *,
    currency: str,
    day: str,
    reporting_currency: str,
) -> DataFrame:
    """Add column `_rate` (units of `currency` per 1 reporting unit); null when no rate applies."""
    one = F.lit(1).cast(RATE_TYPE)
    is_reporting = F.col(currency) == F.lit(reporting_currency)
    if rates is None:
        return rows.withColumn(RATE_COLUMN, F.when(is_reporting, one))
    usable = rates.where(F.col("base_currency") == reporting_currency).select(
        F.col("currency_code").alias("_fx_code"),
        F.col("rate_date").alias("_fx_date"),
        F.col("rate").cast(RATE_TYPE).alias("_fx_rate"),
    )
    pairs = (
        rows.select(F.col(currency).alias("_fx_cur"), F.col(day).alias("_fx_day"))
        .where(F.col("_fx_cur").isNotNull() & F.col("_fx_day").isNotNull() & (F.col("_fx_cur") != reporting_currency))
        .distinct()
    )
    as_of = (
        pairs.join(usable, (pairs["_fx_cur"] == usable["_fx_code"]) & (usable["_fx_date"] <= pairs["_fx_day"]))
        .groupBy("_fx_cur", "_fx_day")
        .agg(F.max_by("_fx_rate", "_fx_date").alias("_fx_rate"))
    )
    joined = rows.join(
        F.broadcast(as_of),
        (rows[currency] == as_of["_fx_cur"]) & (rows[day] == as_of["_fx_day"]),
        "left",
    )
    return joined.withColumn(RATE_COLUMN, F.when(is_reporting, one).otherwise(F.col("_fx_rate"))).drop(
        "_fx_cur", "_fx_day", "_fx_rate"
    )


def converted_amount(amount: str, amount_type: str) -> SparkColumn:
    return (F.col(amount) / F.col(RATE_COLUMN)).cast(converted_type(amount_type))
