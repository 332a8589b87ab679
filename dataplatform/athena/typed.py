"""Rewrites that need operand types: division, avg, rounding functions, %, cardinality and UNNEST of maps.

The types come from sqlglot's annotation of the statement against the catalog's columns (the engine's `annotate`);
Trino's decimal result types follow docs/src/main/sphinx/functions/decimal.rst and Trino's MathFunctions. Where a
type stays unknown, a DuckDB macro decides at run time (integer division) or refuses (a decimal it cannot type).
Decimal quotients are computed exactly on the unscaled integers and rounded half up, as Trino does; DuckDB would
divide decimals in double precision (1.005 would become 1.00).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp
from sqlglot.errors import SqlglotError

from dataplatform.athena.macros import call

TYPE_TAG = "dataplatform_type_tag"
DECIMAL_DONE = "dataplatform_decimal_typed"
INTEGER_TYPES = {
    exp.DType.TINYINT: ("tinyint", 3),
    exp.DType.SMALLINT: ("smallint", 5),
    exp.DType.INT: ("integer", 10),
    exp.DType.BIGINT: ("bigint", 19),
}
ROUNDING = (exp.Ceil, exp.Floor, exp.Round, exp.Trunc, exp.Sign)


def _numeric(data_type: exp.DataType | None) -> tuple[int, int, bool] | None:
    """(precision, scale, is_integer) of an integer or decimal type as Trino sees it; None otherwise."""
    if data_type is None:
        return None
    if data_type.this in INTEGER_TYPES:
        return INTEGER_TYPES[data_type.this][1], 0, True
    if data_type.this == exp.DType.DECIMAL and len(data_type.expressions) == 2:
        precision, scale = (int(p.name) for p in data_type.expressions)
        return precision, scale, False
    return None  # includes a DECIMAL whose precision sqlglot could not infer


def _division_type(node: exp.Expression) -> tuple[int, int, bool] | None:
    if isinstance(node, exp.Paren):
        return _division_type(node.this)
    if isinstance(node, exp.Div):
        left, right = _division_type(node.this), _division_type(node.expression)
        if left is None or right is None:
            return None
        if left[2] and right[2]:
            return max(left[0], right[0]), 0, True
        (p1, s1, _), (_, s2, _) = left, right
        return min(38, p1 + s2 + max(0, s2 - s1)), max(s1, s2), False  # decimal.rst: x / y
    return _numeric(node.type)


def _unscaled(value: exp.Expression) -> exp.Expression:
    """The exact integer behind a decimal (1.50 -> 150), through its text so no precision is lost."""
    text = exp.cast(value, exp.DType.VARCHAR)
    return exp.cast(exp.func("replace", text, exp.Literal.string("."), exp.Literal.string("")), "HUGEINT")


def _from_unscaled(value: exp.Expression, precision: int, scale: int) -> exp.Expression:
    decimal = exp.cast(value, "DECIMAL(38, 0)")
    if scale:
        unit = exp.cast(exp.Literal.string(f"{1 / 10**scale:.{scale}f}"), f"DECIMAL({scale + 1}, {scale})")
        decimal = exp.Mul(this=decimal, expression=unit)
    return exp.cast(decimal, f"DECIMAL({precision}, {scale})")


def _half_up(numerator: exp.Expression, denominator: exp.Expression) -> exp.Expression:
    """numerator / denominator rounded half away from zero (Java's HALF_UP), on integers."""
    n, d = exp.paren(numerator), exp.paren(denominator)
    sign = exp.Mul(this=call("sign", n), expression=call("sign", d.copy()))  # not exp.Sign: no rewrite
    two_n = exp.Mul(this=exp.Literal.number(2), expression=exp.func("abs", n.copy()))
    quotient = exp.IntDiv(
        this=exp.paren(exp.Add(this=two_n, expression=exp.func("abs", d.copy()))),
        expression=exp.paren(exp.Mul(this=exp.Literal.number(2), expression=exp.func("abs", d.copy()))),
    )
    return exp.Mul(this=sign, expression=exp.paren(quotient))


def _decimal_division(node: exp.Div, left: tuple[int, int, bool], right: tuple[int, int, bool]) -> exp.Expression:
    """Trino's exact decimal quotient: scale max(s1, s2), rounded half up (DuckDB would divide in double)."""
    (_, s1, _), (_, s2, _) = left, right
    precision, scale, _ = _division_type(node) or (38, max(s1, s2), False)
    shift = scale + s2 - s1  # a * 10^(scale + s2) / (b * 10^s2) = (a / b) * 10^scale
    numerator = exp.Mul(this=_unscaled(node.this.copy()), expression=exp.cast(exp.Literal.number(10**shift), "HUGEINT"))
    quotient = _half_up(numerator, _unscaled(node.expression.copy()))
    return _from_unscaled(quotient, precision, scale)


def _decimal_average(avg: exp.Avg, wrapper: exp.Expression, precision: int, scale: int) -> exp.Expression:
    """Trino's avg of decimal(p, s): decimal(p, s), the exact mean rounded half up."""

    def aggregate(fn: exp.Expression) -> exp.Expression:
        if wrapper is avg:
            return fn
        copy = wrapper.copy()
        inner = copy if isinstance(copy, exp.Avg) else copy.find(exp.Avg)
        assert inner is not None
        inner.replace(fn)
        return copy

    total = aggregate(exp.func("sum", _unscaled(avg.this.copy())))
    count = aggregate(exp.func("count", avg.this.copy()))
    return _from_unscaled(_half_up(total, exp.func("nullif", count, exp.Literal.number(0))), precision, scale)


def _rounding_type(node: exp.Expression, p: int, s: int) -> str:
    """Trino's result type of ceil, floor, round, truncate and sign of a decimal(p, s) (MathFunctions)."""
    if isinstance(node, exp.Sign):
        return "DECIMAL(1, 0)"
    if isinstance(node, exp.Round) and node.args.get("decimals") is not None:
        return f"DECIMAL({min(38, p + 1)}, {s})"
    if isinstance(node, exp.Trunc):
        return f"DECIMAL({max(1, p - s)}, 0)"
    return f"DECIMAL({min(38, p - s + min(s, 1))}, 0)"


def _rounding(node: exp.Expression, argument: tuple[int, int, bool] | None) -> None:
    """DuckDB keeps a decimal's precision through ceil/floor/round/truncate (and sign is a tinyint): use Trino's."""
    if isinstance(node, exp.Trunc) and node.args.get("decimals") is not None:
        node.set("this", call("athena_no_decimal", node.this, exp.Literal.string("truncate(decimal, n)")))
    elif argument is None:  # type unknown before execution: refuse a decimal then
        what = f"{node.sql_name().lower()} of a decimal whose type is unknown before execution"
        node.set("this", call("athena_no_decimal", node.this, exp.Literal.string(what)))
    elif not argument[2]:
        node.meta[DECIMAL_DONE] = True
        node.replace(exp.cast(node.copy(), _rounding_type(node, argument[0], argument[1])))


def _outermost(node: exp.Expression) -> exp.Expression:
    """An aggregate together with its FILTER and OVER clauses."""
    while isinstance(node.parent, exp.Filter | exp.Window) and node.parent.this is node:
        node = node.parent
    return node


def typed_rewrites(tree: exp.Expression, annotate: Callable[[exp.Expression], exp.Expression] | None) -> None:
    """Division, avg and UNNEST of maps, using the operand types sqlglot infers against the catalog.

    A qualified, annotated copy carries the types; the original nodes are tagged so their twins can be found.
    Nodes whose types stay unknown fall back to macros that refuse what they cannot decide.
    """
    kinds = (exp.Div, exp.Avg, exp.Unnest, exp.Mod, exp.ArraySize, *ROUNDING)
    originals = list(tree.find_all(*kinds))
    if not originals:
        return
    for i, node in enumerate(originals):
        node.meta[TYPE_TAG] = i
    annotated: dict[int, exp.Expression] = {}
    try:
        if annotate is not None:
            for node in annotate(tree.copy()).find_all(*kinds):
                annotated.setdefault(node.meta.get(TYPE_TAG, -1), node)
    except (SqlglotError, KeyError, ValueError):
        annotated = {}
    finally:
        for node in originals:
            node.meta.pop(TYPE_TAG, None)
    for i, original in reversed(list(enumerate(originals))):  # innermost first
        typed = annotated.get(i)
        if isinstance(original, exp.Div):
            left = _division_type(typed.this) if typed else None
            right = _division_type(typed.expression) if typed else None
            if left is None or right is None:
                original.replace(call("athena_divide", original.this.copy(), original.expression.copy()))
            elif left[2] and right[2]:
                original.replace(exp.IntDiv(this=original.this.copy(), expression=original.expression.copy()))
            else:
                original.replace(_decimal_division(original, left, right))
        elif isinstance(original, exp.Avg):
            argument = _numeric(typed.this.type) if typed else None
            if argument is not None and not argument[2]:
                wrapper = _outermost(original)
                wrapper.replace(_decimal_average(original, wrapper, argument[0], argument[1]))
            elif argument is None:
                original.set("this", call("athena_avg_arg", original.this))
        elif isinstance(original, ROUNDING):
            _rounding(original, _numeric(typed.this.type) if typed else None)
        elif isinstance(original, exp.Mod) and typed is not None:
            left, right = _numeric(typed.this.type), _numeric(typed.expression.type)
            if left and right and not (left[2] and right[2]):  # decimal.rst: x % y
                (p1, s1, _), (p2, s2, _) = left, right
                to = f"DECIMAL({min(p1 - s1, p2 - s2) + max(s1, s2)}, {max(s1, s2)})"
                original.replace(exp.cast(original.copy(), to))
        elif isinstance(original, exp.ArraySize) and typed is not None:
            if typed.this.type is not None and typed.this.type.is_type(exp.DType.MAP):  # DuckDB: ubigint
                original.replace(exp.cast(exp.func("cardinality", original.this.copy()), "BIGINT"))
        elif isinstance(original, exp.Unnest) and typed is not None:
            for arg, typed_arg in zip(original.expressions, typed.expressions, strict=False):
                if typed_arg.type is not None and typed_arg.type.is_type(exp.DType.MAP):
                    arg.replace(call("map_entries", arg.copy()))
