"""Rewrites of a parsed Athena statement so that DuckDB returns what Athena engine v3 (Trino) returns.

Each rewrite is small and says which difference it removes. Where a difference depends on an operand's type, the
rewrite calls a typed DuckDB macro (`macros.py`) that picks the behaviour at bind time, or uses the types sqlglot
infers from the catalog (`typed_rewrites`); where neither works the construct is refused (NotSupported).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp

from dataplatform.athena.macros import INFORMATION_SCHEMA, NotSupported, call
from dataplatform.athena.typed import DECIMAL_DONE, INTEGER_TYPES, typed_rewrites

TIME_UNITS = {"HOUR", "MINUTE", "SECOND", "MILLISECOND"}
INTERVAL_FUNCTIONS = {
    "YEAR": "to_years",
    "QUARTER": "to_months",
    "MONTH": "to_months",
    "WEEK": "to_weeks",
    "DAY": "to_days",
    "HOUR": "to_hours",
    "MINUTE": "to_minutes",
    "SECOND": "to_seconds",
    "MILLISECOND": "to_milliseconds",
}
# Trino functions DuckDB lacks or names differently, called with the same arguments.
ANONYMOUS = {
    "e": "athena_e",
    "infinity": "athena_infinity",
    "nan": "athena_nan",
    "is_finite": "isfinite",
    "is_infinite": "isinf",
    "yow": "isoyear",
    "trim_array": "athena_trim_array",
}
EXTRACT_FIELDS = {"DOW": "isodow", "DAY_OF_WEEK": "isodow", "YOW": "isoyear", "YEAR_OF_WEEK": "isoyear"}
# A java.util.Formatter specifier: %[index$][flags][width][.precision]conversion (flags other than - and 0 do not
# match, so their % is left over and refused).
FORMAT_SPEC = re.compile(r"%(?:(\d+)\$)?([-0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])")


def _unit(node: exp.Expression) -> str:
    unit = node.args.get("unit")
    return (unit.name if unit is not None else "DAY").upper()


def _cast(node: exp.Cast) -> exp.Expression | None:
    to = node.to
    if to.is_type(exp.DType.DECIMAL) and not to.expressions:
        node.set("to", exp.DataType.build("DECIMAL(38, 0)"))  # Trino's bare DECIMAL; DuckDB's is (18, 3)
        return None
    if to.is_type(exp.DType.VARCHAR, exp.DType.CHAR, exp.DType.TEXT, exp.DType.NVARCHAR):
        if to.expressions:
            raise NotSupported(f"cast to {to.sql(dialect='trino').lower()}")  # DuckDB ignores the length
        return call("athena_to_varchar", node.this)
    if to.is_type(exp.DType.TIMESTAMP):
        precision = int(to.expressions[0].name) if to.expressions else 3  # Trino: timestamp is timestamp(3)
        if precision > 6:  # DuckDB keeps microseconds; Trino's extra digits are zeros
            node.set("to", exp.DataType.build("TIMESTAMP"))
        if precision >= 6:
            return None
        timestamp = node.copy()
        timestamp.set("to", exp.DataType.build("TIMESTAMP"))
        return call("athena_round_timestamp", timestamp, exp.Literal.number(precision))
    if to.is_type(exp.DType.JSON):
        return call("athena_to_json", node.this)
    if to.this in INTEGER_TYPES:
        converted = call(f"athena_to_{INTEGER_TYPES[to.this][0]}", node.this)
        return exp.func("try", converted) if isinstance(node, exp.TryCast) else converted
    return None


def _interval_arithmetic(node: exp.Add | exp.Sub) -> exp.Expression | None:
    left, right = node.this, node.expression
    if isinstance(node, exp.Add) and isinstance(left, exp.Interval) and not isinstance(right, exp.Interval):
        left, right = right, left
    if not isinstance(right, exp.Interval) or isinstance(left, exp.Interval):
        return None
    time = bool(set(right.sql(dialect="trino").upper().split()) & TIME_UNITS)
    name = ("athena_plus" if isinstance(node, exp.Add) else "athena_minus") + ("_time" if time else "")
    return call(name, left, right)


def _date_add(node: exp.DateAdd) -> exp.Expression:
    unit = _unit(node)
    if unit not in INTERVAL_FUNCTIONS:
        raise NotSupported(f"date_add with unit {unit.lower()}")
    value = node.expression
    if unit == "QUARTER":
        value = exp.Mul(this=exp.paren(value), expression=exp.Literal.number(3))
    target = "DOUBLE" if unit in ("SECOND", "MILLISECOND") else "INTEGER"
    interval = call(INTERVAL_FUNCTIONS[unit], exp.cast(value, target))
    return call("athena_plus_time" if unit in TIME_UNITS else "athena_plus", node.this, interval)


def _format_piece(spec: re.Match[str], argument: exp.Expression) -> exp.Expression:
    """One java.util.Formatter conversion as DuckDB text; a null argument prints 'null', as in Java."""
    _, flags, width, precision, conversion = spec.groups()
    width = width or ""
    if "0" in flags and ("-" in flags or conversion != "d"):
        raise NotSupported(f"format flags {flags!r} with %{conversion}")
    null_text = exp.Literal.string("null")
    padded = "%" + flags + width + "s"
    if conversion == "s":
        text = exp.func("coalesce", call("athena_to_varchar", argument), null_text)
        truncated = "%" + flags + width + ("" if precision is None else f".{precision}") + "s"
        return call("printf", exp.Literal.string(truncated), text)
    if conversion == "d":
        if precision is not None:
            raise NotSupported("format %d with a precision")
        number = call("printf", exp.Literal.string("%" + flags + width + "d"), argument)
        return exp.func("coalesce", number, call("printf", exp.Literal.string(padded.replace("0", "")), null_text))
    # %f: Java rounds the decimal digits of the value half up; printf would round the binary double.
    fixed = call("athena_format_fixed", argument, exp.Literal.number(6 if precision is None else int(precision)))
    return call("printf", exp.Literal.string(padded), exp.func("coalesce", fixed, null_text))


def _format(node: exp.Format) -> exp.Expression:
    """Trino's format() is java.util.Formatter: %s, %d and %f with '-'/'0' flags, widths, precisions and argument
    indexes are rebuilt piece by piece; any other conversion or flag is refused (DuckDB's format is fmt-style)."""
    pattern = node.this
    if not isinstance(pattern, exp.Literal) or not pattern.is_string:
        raise NotSupported("format with a pattern that is not a string literal")
    text, arguments = pattern.name, node.expressions
    pieces: list[exp.Expression] = []
    position = ordinary = 0
    for spec in FORMAT_SPEC.finditer(text):
        literal = text[position : spec.start()]
        if "%" in literal:
            raise NotSupported("format flags other than '-' and '0'")
        if literal:
            pieces.append(exp.Literal.string(literal))
        position = spec.end()
        index, conversion = spec.group(1), spec.group(5)
        if conversion == "%":
            pieces.append(exp.Literal.string("%"))
            continue
        if conversion not in ("s", "d", "f"):
            raise NotSupported(f"format conversion %{conversion}")
        if index is None:
            number, ordinary = ordinary, ordinary + 1
        else:
            number = int(index) - 1
        if not 0 <= number < len(arguments):
            raise NotSupported("format with a missing argument")
        pieces.append(_format_piece(spec, arguments[number].copy()))
    if "%" in text[position:]:
        raise NotSupported("format flags other than '-' and '0'")
    if text[position:]:
        pieces.append(exp.Literal.string(text[position:]))
    result: exp.Expression = pieces[0] if pieces else exp.Literal.string("")
    for piece in pieces[1:]:
        result = exp.DPipe(this=result, expression=piece)
    return result


def _regexp_replace(node: exp.RegexpReplace) -> exp.Expression:
    replacement = node.args.get("replacement")
    if replacement is None:
        return node
    if not isinstance(replacement, exp.Literal) or not replacement.is_string:
        raise NotSupported("regexp_replace with a replacement that is not a string literal")
    text = replacement.name
    if "${" in text:
        raise NotSupported("regexp_replace with named groups")
    if re.search(r"\\(?!\$)", text):
        raise NotSupported("regexp_replace with backslash escapes in the replacement")
    # Java's replacement syntax ($1, \$) in DuckDB's RE2 syntax (\1, $)
    converted = re.sub(r"\\\$|\$(\d)", lambda m: "\\" + m.group(1) if m.group(1) else "$", text)
    node.set("replacement", exp.Literal.string(converted))
    return node


def _unnest(node: exp.Unnest) -> exp.Expression | None:
    """UNNEST in FROM: Trino expands an array of rows into one column per field, a map into key and value, and
    zips several arrays; DuckDB's table-valued UNNEST takes one plain array."""
    alias = node.args.get("alias")
    if not isinstance(node.parent, exp.From | exp.Join) or alias is None:
        return None
    ordinality = bool(node.args.get("offset"))  # sqlglot keeps the ordinality column apart from the aliases
    arrays = node.expressions
    expanded = len(alias.columns)
    if len(arrays) == 1 and expanded == 1:
        return None
    if ordinality:
        raise NotSupported("UNNEST WITH ORDINALITY of several arrays, rows or maps")
    if len(arrays) == expanded:
        body = exp.select(*(exp.func("unnest", a.copy()) for a in arrays))
    elif len(arrays) == 1:
        rows = exp.select(exp.alias_(exp.func("unnest", arrays[0].copy()), "athena_row"))
        body = exp.select(exp.func("unnest", exp.column("athena_row"))).from_(rows.subquery())
    else:
        raise NotSupported("UNNEST of several arrays that are not all plain arrays")
    if isinstance(node.parent, exp.Join):
        return exp.Lateral(this=body.subquery(), alias=alias.copy())
    return body.subquery(alias.copy())


def _node(node: exp.Expression) -> exp.Expression | None:
    """The replacement of one node, or None to keep it."""
    if isinstance(node, exp.Cast):
        return _cast(node)
    if isinstance(node, exp.Add | exp.Sub):
        replaced = _interval_arithmetic(node)
        if replaced is None and isinstance(node, exp.Sub):  # date - date is an interval in Trino, days in DuckDB
            return call("athena_subtract", node.this, node.expression)
        return replaced
    if isinstance(node, exp.DateAdd):
        return _date_add(node)
    if isinstance(node, exp.DateDiff):  # Trino counts whole units elapsed, DuckDB's date_diff counts boundaries
        return call("date_sub", exp.Literal.string(_unit(node).lower()), node.expression, node.this)
    if isinstance(node, exp.TimestampTrunc | exp.DateTrunc):
        return call("athena_date_trunc", exp.Literal.string(_unit(node).lower()), node.this)
    if isinstance(node, exp.Extract) and node.name.upper() in EXTRACT_FIELDS:
        return call(EXTRACT_FIELDS[node.name.upper()], node.expression)
    if isinstance(node, exp.Anonymous) and node.name.lower() == "millisecond":  # DuckDB's includes the seconds
        return exp.Mod(this=exp.paren(node.copy()), expression=exp.Literal.number(1000))
    if isinstance(node, exp.Anonymous) and node.name.lower() in ANONYMOUS:
        return call(ANONYMOUS[node.name.lower()], *node.expressions)
    if isinstance(node, exp.ArrayExcept):  # sqlglot's DuckDB form loses the order of the first array
        return call("athena_array_except", node.this, node.expression)
    if isinstance(node, exp.ApproxDistinct):  # exact: within Trino's documented error, and Athena's small-set answer
        return exp.Count(this=exp.Distinct(expressions=[node.this]))
    if isinstance(node, exp.Sign) and not node.meta.get(DECIMAL_DONE):  # a typed decimal sign is cast already
        return call("athena_sign", node.this)
    if isinstance(node, exp.Substring):  # Trino: start 0, a start before the string or length <= 0 give ''
        length = node.args.get("length")
        return call("athena_substr", node.this, node.args["start"], *([length] if length else []))
    if isinstance(node, exp.SplitPart):
        return call("athena_split_part", node.this, node.args["delimiter"], node.args["part_index"])
    if isinstance(node, exp.Split) and node.args.get("limit") is not None:
        raise NotSupported("split with a limit")
    if isinstance(node, exp.RegexpExtract):
        group = node.args.get("group")
        return call("athena_regexp_extract", node.this, node.expression, *([group] if group else []))
    if isinstance(node, exp.RegexpReplace):
        return _regexp_replace(node)
    if isinstance(node, exp.Format):
        return _format(node)
    if isinstance(node, exp.CurrentTimestamp):
        return call("athena_now")
    if isinstance(node, exp.Localtimestamp):
        return exp.func("date_trunc", exp.Literal.string("millisecond"), node.copy())
    if isinstance(node, exp.FromISO8601Timestamp):
        return call("athena_from_iso8601_timestamp", node.this)
    if isinstance(node, exp.FromISO8601Date):
        return call("athena_from_iso8601_date", node.this)
    if isinstance(node, exp.Repeat):  # Trino repeats an element into an array, DuckDB repeats a string
        return exp.func("repeat", exp.Array(expressions=[node.this]), node.args["times"])
    if isinstance(node, exp.Reverse):
        return call("athena_reverse", node.this)
    if isinstance(node, exp.ArraySlice):
        return call("athena_slice", node.this, node.args["start"], node.args["end"])
    if isinstance(node, exp.ArrayDistinct):
        return call("athena_array_distinct", node.this)
    if isinstance(node, exp.GenerateSeries) and node.args.get("step") is None:
        return call("athena_sequence", node.args["start"], node.args["end"])
    if isinstance(node, exp.ArrayMax | exp.ArrayMin):
        return call("athena_array_max" if isinstance(node, exp.ArrayMax) else "athena_array_min", node.this)
    if isinstance(node, exp.ArrayToString):
        node.set("this", call("athena_joinable", node.this))
        return None
    if isinstance(node, exp.JSONExtractScalar):
        return call("athena_json_extract_scalar", node.this, node.expression)
    if isinstance(node, exp.ArrayPosition):
        return call("athena_array_position", node.this, node.expression)
    if isinstance(node, exp.Unnest):
        return _unnest(node)
    if isinstance(node, exp.Table) and node.db.lower() == "information_schema" and not node.catalog:
        node.set("db", exp.to_identifier(INFORMATION_SCHEMA))
    return None


def athena_column_names(statement: exp.Expression) -> exp.Expression:
    """Unnamed result columns are `_col0`, `_col1`, ... as in Athena (DuckDB would name them after the SQL)."""
    select = statement
    while isinstance(select, exp.SetOperation):
        select = select.this
    if isinstance(select, exp.Subquery):
        select = select.this
    if not isinstance(select, exp.Select):
        return statement
    for i, projection in enumerate(list(select.expressions)):
        if not isinstance(projection, exp.Alias | exp.Column | exp.Star):
            projection.replace(exp.alias_(projection.copy(), f"_col{i}"))
    return statement


def apply(tree: exp.Expression, annotate: Callable[[exp.Expression], exp.Expression] | None) -> exp.Expression:
    athena_column_names(tree)
    typed_rewrites(tree, annotate)
    # Bottom-up, so a replacement is built from children that are already rewritten.
    for node in reversed(list(tree.walk(bfs=False))):
        replacement = _node(node)
        if replacement is not None and replacement is not node:
            if node is tree:
                tree = replacement
            else:
                node.replace(replacement)
    return tree
