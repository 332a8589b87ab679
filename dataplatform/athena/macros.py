"""DuckDB macros that give Athena (Trino) semantics where DuckDB's built-ins differ.

The dialect layer (`dialect.py`, `transforms.py`) rewrites Athena calls into calls of these `athena_*` macros. Two
DuckDB features do the work:
- typed macro overloads (`(a DATE, i INTERVAL) AS ...`) pick Trino's result type from the operand type at bind time,
  e.g. a date plus a day interval stays a date;
- `typeof(x)` is a constant per query, so `CASE WHEN typeof(x) ... THEN error('not supported ...')` refuses a type
  the local engine gets wrong without ever evaluating the refused branch for other types.
A refusal raised here carries `REFUSAL` in DuckDB's message; the engine turns it into the one-line refusal.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
from sqlglot import exp

REFUSAL = "not supported by the local engine: "
INFORMATION_SCHEMA = "athena_information_schema"
INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT")


class NotSupported(Exception):
    """The statement uses a function or construct the local engine does not answer like Athena."""

    def __init__(self, construct: str) -> None:
        self.construct = construct
        super().__init__(REFUSAL + construct)


def call(name: str, *args: exp.Expression) -> exp.Anonymous:
    """A call of a DuckDB function or macro by name (an Anonymous node: no further rewrite applies to it)."""
    return exp.Anonymous(this=name, expressions=list(args))


def _refuse(construct: str) -> str:
    return f"error('{REFUSAL}{construct}')"


def _integer_division() -> str:
    """Trino divides integers with truncation; DuckDB's `/` returns a double. Exact overloads per type pair."""
    pairs = [f"(a {x}, b {y}) AS a // b" for x in INTEGER_TYPES for y in INTEGER_TYPES]
    fallback = (
        f"(a, b) AS CASE WHEN typeof(a) LIKE 'DECIMAL%' OR typeof(b) LIKE 'DECIMAL%' "
        f"THEN {_refuse('decimal division of operands whose types are unknown before execution')} ELSE a / b END"
    )
    return "CREATE OR REPLACE MACRO athena_divide" + ", ".join([*pairs, fallback])


def _to_integer(name: str, target: str) -> str:
    # Trino rounds a double half away from zero when casting it to an integer type; DuckDB rounds half to even.
    return (
        f"CREATE OR REPLACE MACRO {name}(x) AS CASE WHEN typeof(x) IN ('DOUBLE', 'FLOAT') "
        f"THEN CAST(round(TRY_CAST(x AS DOUBLE)) AS {target}) ELSE CAST(x AS {target}) END"
    )


MACROS: list[str] = [
    # date +/- interval: Trino keeps a date for day, month and year intervals and rejects time intervals.
    "CREATE OR REPLACE MACRO athena_plus(a DATE, i INTERVAL) AS CAST(a + i AS DATE), (a, i) AS a + i",
    "CREATE OR REPLACE MACRO athena_minus(a DATE, i INTERVAL) AS CAST(a - i AS DATE), (a, i) AS a - i",
    "CREATE OR REPLACE MACRO athena_plus_time(a DATE, i INTERVAL) AS "
    "error('Cannot add hour, minutes or seconds to a date'), (a, i) AS a + i",
    "CREATE OR REPLACE MACRO athena_minus_time(a DATE, i INTERVAL) AS "
    "error('Cannot subtract hour, minutes or seconds from a date'), (a, i) AS a - i",
    f"CREATE OR REPLACE MACRO athena_subtract(a DATE, b DATE) AS {_refuse('date - date')}, (a, b) AS a - b",
    # date_trunc of a date is a date in Trino, a timestamp in DuckDB.
    "CREATE OR REPLACE MACRO athena_date_trunc(u, x DATE) AS CAST(date_trunc(u, x) AS DATE), "
    "(u, x) AS date_trunc(u, x)",
    # Trino's avg of a decimal is a decimal; rewritten exactly when the type is known, refused when it is not.
    f"CREATE OR REPLACE MACRO athena_avg_arg(x) AS CASE WHEN typeof(x) LIKE 'DECIMAL%' "
    f"THEN {_refuse('avg(decimal) of an argument whose type is unknown before execution')} ELSE x END",
    # A decimal whose precision is unknown when transpiling cannot get Trino's result type: refuse it at run time.
    f"CREATE OR REPLACE MACRO athena_no_decimal(x, what) AS CASE WHEN typeof(x) LIKE 'DECIMAL%' "
    f"THEN error('{REFUSAL}' || what) ELSE x END",
    # substr: Trino returns '' for start 0, a start before the beginning, or a length <= 0.
    "CREATE OR REPLACE MACRO athena_substr(s, b) AS CASE WHEN s IS NULL OR b IS NULL THEN NULL "
    "WHEN b = 0 OR b < -length(s) THEN '' ELSE substring(s, b) END, "
    "(s, b, n) AS CASE WHEN s IS NULL OR b IS NULL OR n IS NULL THEN NULL "
    "WHEN b = 0 OR n <= 0 OR b < -length(s) THEN '' ELSE substring(s, b, n) END",
    _integer_division(),
    # CAST(x AS varchar): Trino writes doubles as 1.5E0, timestamps with their precision, and rejects
    # arrays, maps and rows; only the types whose text is the same in both engines are cast.
    "CREATE OR REPLACE MACRO athena_to_varchar(x) AS CASE "
    f"WHEN typeof(x) IN ('DOUBLE', 'FLOAT') THEN {_refuse('cast(double as varchar)')} "
    f"WHEN typeof(x) LIKE 'TIME%' THEN {_refuse('cast(timestamp as varchar)')} "
    f"WHEN typeof(x) = 'JSON' THEN {_refuse('cast(json as varchar)')} "
    f"WHEN typeof(x) LIKE '%[]' OR typeof(x) LIKE 'MAP(%' OR typeof(x) LIKE 'STRUCT(%' "
    f"THEN {_refuse('cast(array, map or row as varchar)')} "
    "ELSE CAST(x AS VARCHAR) END",
    *[_to_integer(f"athena_to_{t.lower()}", t) for t in INTEGER_TYPES],
    # split_part past the last field is null in Trino, '' in DuckDB; a position below 1 is an error.
    "CREATE OR REPLACE MACRO athena_split_part(s, d, i) AS CASE "
    "WHEN i < 1 THEN error('Index must be greater than zero') "
    "WHEN i > len(string_split(s, d)) THEN NULL ELSE split_part(s, d, i) END",
    # regexp_extract without a match is null in Trino, '' in DuckDB.
    "CREATE OR REPLACE MACRO athena_regexp_extract(s, p) AS "
    "CASE WHEN regexp_matches(s, p) THEN regexp_extract(s, p) END, "
    "(s, p, g) AS CASE WHEN regexp_matches(s, p) THEN regexp_extract(s, p, g) END",
    # array_position is 0 when the element is missing and a bigint in Trino.
    "CREATE OR REPLACE MACRO athena_array_position(a, x) AS CAST(coalesce(array_position(a, x), 0) AS BIGINT)",
    # Timestamps with time zone are kept in UTC locally (Athena's session zone); an explicit other offset would
    # be kept by Trino and normalized by DuckDB, so it is refused. Trino parses to millisecond precision.
    "CREATE OR REPLACE MACRO athena_from_iso8601_timestamp(s) AS CASE "
    r"WHEN regexp_matches(s, 'T.*[+-]\d{2}(:?\d{2})?$') AND NOT regexp_matches(s, '[+-]00(:?00)?$') "
    f"THEN {_refuse('from_iso8601_timestamp with a time zone offset other than UTC')} "
    "ELSE date_trunc('millisecond', CAST(s AS TIMESTAMPTZ)) END",
    r"CREATE OR REPLACE MACRO athena_from_iso8601_date(s) AS CASE WHEN regexp_matches(s, '^\d{4}-?(W|\d{3}$)') "
    f"THEN {_refuse('from_iso8601_date with a week or ordinal date')} ELSE CAST(s AS DATE) END",
    # CAST(varchar AS json) makes a JSON string in Trino; DuckDB parses the text as JSON.
    f"CREATE OR REPLACE MACRO athena_to_json(x) AS CASE WHEN typeof(x) = 'VARCHAR' "
    f"THEN {_refuse('cast(varchar as json)')} ELSE CAST(x AS JSON) END",
    # Array functions whose DuckDB namesakes differ: reverse and repeat of arrays, slice(start, length),
    # sequence counting down, array_distinct keeping the first occurrences in order.
    "CREATE OR REPLACE MACRO athena_reverse(x VARCHAR) AS reverse(x), (x) AS list_reverse(x)",
    "CREATE OR REPLACE MACRO athena_slice(a, s, n) AS CASE WHEN s = 0 THEN error('SQL array indices start at 1') "
    "WHEN s > 0 THEN list_slice(a, s, s + n - 1) ELSE list_slice(a, len(a) + s + 1, len(a) + s + n) END",
    "CREATE OR REPLACE MACRO athena_sequence(a DATE, b DATE) AS CAST(generate_series(CAST(a AS TIMESTAMP), "
    "CAST(b AS TIMESTAMP), to_days(CASE WHEN a <= b THEN 1 ELSE -1 END)) AS DATE[]), "
    "(a, b) AS generate_series(a, b, CASE WHEN a <= b THEN 1 ELSE -1 END)",
    "CREATE OR REPLACE MACRO athena_array_distinct(a) AS list_filter(a, lambda x, i: list_position(a, x) = i)",
    # CAST to timestamp(p) rounds to p fraction digits in Trino (timestamp is timestamp(3)); DuckDB keeps micros.
    "CREATE OR REPLACE MACRO athena_round_timestamp(t, p) AS "
    "make_timestamp(CAST(round(epoch_us(t) / pow(10, 6 - p)) * pow(10, 6 - p) AS BIGINT))",
    "CREATE OR REPLACE MACRO athena_now() AS date_trunc('millisecond', current_timestamp)",
    "CREATE OR REPLACE MACRO athena_e() AS exp(1)",
    # format('%.2f', x): Java rounds the shortest decimal text of x half up; DuckDB's text of a double is the same.
    "CREATE OR REPLACE MACRO athena_format_fixed(x, d) AS "
    "CAST(round(CAST(CAST(x AS VARCHAR) AS DECIMAL(38, 18)), d) AS VARCHAR)",
    "CREATE OR REPLACE MACRO athena_infinity() AS CAST('Infinity' AS DOUBLE)",
    "CREATE OR REPLACE MACRO athena_nan() AS CAST('NaN' AS DOUBLE)",
    "CREATE OR REPLACE MACRO athena_trim_array(a, n) AS list_slice(a, 1, len(a) - n)",
    # array_max/array_min are null when an element is null in Trino; DuckDB skips nulls.
    *[
        f"CREATE OR REPLACE MACRO athena_array_{m}(a) AS "
        f"CASE WHEN list_position(a, NULL) > 0 THEN NULL ELSE list_{m}(a) END"
        for m in ("max", "min")
    ],
    # array_join casts the elements to varchar: doubles and timestamps would not read like Athena's.
    "CREATE OR REPLACE MACRO athena_joinable(a) AS CASE WHEN typeof(a) IN ('DOUBLE[]', 'FLOAT[]') "
    f"OR typeof(a) LIKE 'TIME%[]' THEN {_refuse('array_join of double or timestamp elements')} ELSE a END",
    # json_extract_scalar is null for an object or an array in Trino; DuckDB returns its JSON text.
    "CREATE OR REPLACE MACRO athena_json_extract_scalar(j, p) AS "
    "CASE WHEN json_type(j, p) IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(j, p) END",
    "CREATE OR REPLACE MACRO athena_array_except(a, b) AS "
    "list_filter(athena_array_distinct(a), lambda e: list_position(b, e) IS NULL)",
    # sign keeps an integer argument's type in Trino; DuckDB returns a tinyint.
    "CREATE OR REPLACE MACRO athena_sign"
    + ", ".join(f"(x {t}) AS CAST(sign(x) AS {t})" for t in INTEGER_TYPES)
    + f", (x) AS CASE WHEN typeof(x) LIKE 'DECIMAL%' THEN {_refuse('sign(decimal)')} "
    "ELSE CAST(sign(x) AS DOUBLE) END",
]


def _schema_name_macro(databases: Mapping[str, str]) -> str:
    """Catalog database name -> the logical name `dataplatform query` accepts (curated, marts, audit)."""
    cases = " ".join(f"WHEN '{glue}' THEN '{logical}'" for logical, glue in databases.items())
    body = f"CASE s {cases} ELSE s END" if cases else "s"
    return f"CREATE OR REPLACE MACRO athena_schema_name(s) AS {body}"


def install(con: duckdb.DuckDBPyConnection, databases: Mapping[str, str]) -> None:
    """Session settings and macros of a fresh connection (every connection of the engine gets them)."""
    con.execute("SET TimeZone = 'UTC'")  # Athena's session time zone
    for statement in [*MACROS, _schema_name_macro(databases)]:
        con.execute(statement)
