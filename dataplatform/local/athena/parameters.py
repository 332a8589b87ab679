"""Athena execution parameters (`StartQueryExecution.ExecutionParameters`) on the local engine.

Athena binds the values, in order, to the `?` placeholders of a statement; each value is the text of one SQL
literal (`'text'` with quotes, `42`, `DATE '2024-01-01'`), and a `?` may stand only in a WHERE clause. Here each
value is parsed on its own into a literal node and put into the parsed statement in place of its `?`: a value is
never pasted into SQL text, and a value that is not a single literal is refused, as Athena refuses it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlglot
from sqlglot import exp


class ParameterError(ValueError):
    """The parameters do not fit the statement (count, position or a value that is not one literal)."""


def _literal(value: str, index: int, dialect: type[sqlglot.Dialect]) -> exp.Expression:
    try:
        parsed = sqlglot.parse_one(value, read=dialect)
    except sqlglot.errors.SqlglotError:
        parsed = None
    number = isinstance(parsed, exp.Neg) and isinstance(parsed.this, exp.Literal) and not parsed.this.is_string
    typed = isinstance(parsed, exp.Cast) and isinstance(parsed.this, exp.Literal) and parsed.this.is_string
    if not (isinstance(parsed, exp.Literal | exp.Boolean | exp.Null) or number or typed):
        raise ParameterError(f"execution parameter {index + 1} is not a single SQL literal: {value[:80]!r}")
    assert parsed is not None
    return parsed


def bind(statement: exp.Expression, parameters: Sequence[str], dialect: type[sqlglot.Dialect]) -> exp.Expression:
    """A copy of `statement` with the `?` placeholders (in textual order) replaced by the parameters' literals."""
    bound = statement.copy()
    placeholders = [node for node in bound.walk(bfs=False) if isinstance(node, exp.Placeholder)]
    if len(placeholders) != len(parameters):
        raise ParameterError(
            f"the statement has {len(placeholders)} '?' placeholders but {len(parameters)} execution parameters"
        )
    for index, (placeholder, value) in enumerate(zip(placeholders, parameters, strict=True)):
        if placeholder.find_ancestor(exp.Where) is None:
            raise ParameterError(f"'?' placeholder {index + 1} is outside a WHERE clause, which Athena refuses")
        placeholder.replace(_literal(value, index, dialect))
    return bound
