"""Typed casts and row rules for one contract column, as Spark column expressions (no Python UDFs).

Every check yields either null or a reason struct {rule, column, value, expected}; the caller collects them
into one array per row, so a row can carry several reasons. Cast failures are reasons too (rule `cast`).

Cleaning, applied to every string input before casting:
- trimming of leading/trailing whitespace (including tabs and no-break spaces; Spark's trim() only strips ' ');
- a value that is blank after trimming is null;
- a string column's `normalize` option (`upper`, `lower`, default `none`) changes its case, before its rules run.
  Nothing else changes a string's case: a rule never implies a normalization.
"""

from __future__ import annotations

import re

from pyspark.sql import Column as SparkColumn
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, StringType

from dataplatform.config.models import Column, Rule
from dataplatform.config.number_format import NumberFormat

INTEGER_TEXT = r"^[+-]?[0-9]+$"
NUMBER_TEXT = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
TRUE_TEXT = ("true", "t", "yes", "y", "1")
FALSE_TEXT = ("false", "f", "no", "n", "0")
DEFAULT_DATE_FORMAT = "yyyy-MM-dd"
REASON_TYPE = "struct<rule:string,column:string,value:string,expected:string>"


def normalized(text: SparkColumn, column: Column) -> SparkColumn:
    """The trimmed string value with the column's explicit `normalize` option applied."""
    if column.normalize == "upper":
        return F.upper(text)
    if column.normalize == "lower":
        return F.lower(text)
    return text


def clean_text(raw: SparkColumn) -> SparkColumn:
    trimmed = F.regexp_replace(raw.cast("string"), r"^[\s\u00a0]+|[\s\u00a0]+$", "")
    return F.when(trimmed == "", F.lit(None)).otherwise(trimmed)


def reason(rule: str, column: str, value: SparkColumn, expected: str) -> SparkColumn:
    return F.struct(
        F.lit(rule).alias("rule"),
        F.lit(column).alias("column"),
        value.cast("string").alias("value"),
        F.lit(expected).alias("expected"),
    )


def number_text(text: SparkColumn, number_format: NumberFormat | None) -> SparkColumn:
    """`text` rewritten as `1234.5` under the column's number format (`1.234,5` with {decimal: ",", grouping:
    "."}); null when it is not written in that format. Grouping must be in threes: `12.34,5` is not a number."""
    if number_format is None or number_format == NumberFormat():
        return text
    decimal = re.escape(number_format.decimal)
    fraction = f"({decimal}[0-9]*)?"
    pattern = f"^[+-]?([0-9]+{fraction}|{decimal}[0-9]+)$"
    if number_format.grouping:
        group = re.escape(number_format.grouping)
        pattern = f"{pattern}|^[+-]?[0-9]{{1,3}}({group}[0-9]{{3}})+{fraction}$"
        text_without_groups = F.regexp_replace(text, group, "")
    else:
        text_without_groups = text
    normalized = F.regexp_replace(text_without_groups, decimal, ".")
    return F.when(text.rlike(pattern), normalized)


def typed_value(raw: SparkColumn, raw_type: DataType, column: Column, text: SparkColumn | None = None) -> SparkColumn:
    """The contract-typed value of `raw`; null when the input is null/blank or does not cast.

    `text`: `clean_text(raw)` when the caller already projected it (so the regex runs once per value).
    """
    target = column.type
    if not isinstance(raw_type, StringType):
        # Typed sources (Parquet from Postgres): a direct cast; an overflow or bad value yields null (ANSI off).
        if target == "date" and not column.formats:
            return F.to_date(raw)
        if target in ("date", "timestamp") and raw_type.simpleString() not in ("date", "timestamp"):
            return typed_value(raw.cast("string"), StringType(), column)
        return raw.cast(target)
    text = clean_text(raw) if text is None else text
    if target == "string":
        return normalized(text, column)
    if target in ("integer", "bigint"):
        spark_type = "int" if target == "integer" else "bigint"
        number = number_text(text, column.number_format)
        return F.when(number.rlike(INTEGER_TEXT), number.cast(spark_type))
    if target == "double" or target.startswith("decimal"):
        number = number_text(text, column.number_format)
        return F.when(number.rlike(NUMBER_TEXT), number.cast(target))
    if target == "boolean":
        lowered = F.lower(text)
        return F.when(lowered.isin(*TRUE_TEXT), F.lit(True)).when(lowered.isin(*FALSE_TEXT), F.lit(False))
    if target == "date":
        formats = column.formats or (DEFAULT_DATE_FORMAT,)
        return F.coalesce(*[F.to_date(text, fmt) for fmt in formats])
    if target == "timestamp":
        if not column.formats:
            return text.cast("timestamp")  # ISO 8601, with or without offset
        return F.coalesce(*[F.to_timestamp(text, fmt) for fmt in column.formats])
    raise ValueError(f"column {column.name}: unsupported type {target!r}")


def expected_type(column: Column) -> str:
    if column.type in ("date", "timestamp") and column.formats:
        return f"{column.type} as {' | '.join(column.formats)}"
    if column.number_format is not None and column.number_format != NumberFormat():
        fmt = column.number_format
        grouped = f"1{fmt.grouping}234" if fmt.grouping else "1234"
        return f"{column.type} written like {grouped}{fmt.decimal}5"
    if column.type == "date":
        return f"date as {DEFAULT_DATE_FORMAT}"
    return column.type


def rule_check(rule: Rule, column: Column, typed: SparkColumn) -> tuple[SparkColumn, str]:
    """(condition that FAILS the rule for a non-null typed value, expected text)."""
    if rule.kind == "non_negative":
        return typed < 0, ">= 0"
    if rule.kind == "positive":
        return typed <= 0, "> 0"
    if rule.kind == "in_set":
        values = list(rule.values or ())
        return ~typed.cast("string").isin(*values), "one of " + ", ".join(values)
    if rule.kind == "regex":
        return ~typed.cast("string").rlike(rule.pattern or ""), f"matches {rule.pattern}"
    if rule.kind == "date_range":
        day = F.to_date(typed)
        failed = F.lit(False)
        if rule.min is not None:
            failed = failed | (day < F.lit(rule.min))
        if rule.max is not None:
            failed = failed | (day > F.lit(rule.max))
        return failed, f"date in [{rule.min or '..'}, {rule.max or '..'}]"
    raise ValueError(f"column {column.name}: rule {rule.kind!r} is not a value rule")


def column_reasons(
    raw: SparkColumn | None,
    raw_type: DataType,
    typed: SparkColumn,
    column: Column,
    *,
    original: SparkColumn | None = None,
    present: SparkColumn | None = None,
) -> list[SparkColumn]:
    """Reason expressions (null when fine) for one column: not-null, cast failure, then each rule.

    `original` / `present`: the raw value as text and whether it is non-blank, when already projected.
    """
    if original is None:
        original = raw.cast("string") if raw is not None else F.lit(None).cast("string")
    if present is None:
        present = clean_text(raw).isNotNull() if raw is not None else F.lit(False)
    reasons: list[SparkColumn] = []
    required = not column.nullable or any(r.kind == "not_null" for r in column.rules)
    if required:
        reasons.append(F.when(~present, reason("not_null", column.name, original, "a value")))
    reasons.append(F.when(present & typed.isNull(), reason("cast", column.name, original, expected_type(column))))
    for rule in column.rules:
        if rule.kind == "not_null":
            continue
        failed, expected = rule_check(rule, column, typed)
        reasons.append(F.when(typed.isNotNull() & failed, reason(rule.kind, column.name, original, expected)))
    return reasons
