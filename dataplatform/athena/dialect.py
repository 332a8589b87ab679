"""Athena engine v3 SQL on DuckDB, never silently wrong: parsing, the refusal rule and the transpile pipeline.

One place decides what the local engine runs:
1. Parse with `AthenaV3`, sqlglot's Athena dialect plus two things Trino needs: every function call keeps the name it
   was called by (`substr`, not sqlglot's `SUBSTRING`), and `DECIMAL '1.50'` is a decimal(3,2) as in Trino.
2. Refuse: every function must be on the allow-list, which is the set of functions whose conformance entries pass
   (`conformance.yaml`, checked by tests/conformance). A function that is not on it, known-wrong or never verified,
   fails with `not supported by the local engine: <name>` instead of answering with DuckDB's meaning of the name.
   A few syntax constructs are refused the same way (CONSTRUCTS).
3. Rewrite (`transforms.py`, with the DuckDB macros of `macros.py`) where DuckDB's meaning differs from Trino's.
4. Generate DuckDB SQL; whatever sqlglot itself reports as unsupported is refused, not approximated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.athena import Athena
from sqlglot.dialects.trino import Trino
from sqlglot.errors import ErrorLevel, UnsupportedError
from sqlglot.parsers.athena import AthenaParser, AthenaTrinoParser

from dataplatform.athena import transforms
from dataplatform.athena.macros import NotSupported

__all__ = ["AthenaV3", "NotSupported", "check_supported", "function_name", "parse", "to_duckdb"]

NAME_KEY = "athena_name"
QUANTIFIERS = ("all", "any", "some")
CONSTRUCTS: dict[type[exp.Expression], str] = {
    exp.AtTimeZone: "AT TIME ZONE",  # DuckDB drops the zone (a plain timestamp); Trino keeps it
    exp.TableSample: "TABLESAMPLE",
    exp.MatchRecognize: "MATCH_RECOGNIZE",
}


def _decimal_literal(parser: Any, this: exp.Expression, to: exp.DataType) -> exp.Expression:
    """`DECIMAL '0012.50'` is decimal(6,2) in Trino: precision = all digits, scale = fraction digits."""
    text = this.name.strip().lstrip("+-")
    whole, _, fraction = text.partition(".")
    try:
        Decimal(text)
    except InvalidOperation:
        return exp.Cast(this=this, to=to)  # not a number: DuckDB reports the cast error
    precision, scale = max(len(whole + fraction), 1), len(fraction)
    return exp.Cast(this=this, to=exp.DataType.build(f"DECIMAL({precision}, {scale})"))


class _Trino(Trino):
    ORIGINAL_NAME_META_KEY = NAME_KEY  # the parser records each function's name as written


class _TrinoParser(AthenaTrinoParser):
    TYPE_LITERAL_PARSERS = {**AthenaTrinoParser.TYPE_LITERAL_PARSERS, exp.DType.DECIMAL: _decimal_literal}

    def _parse_function_call(self, *args: Any, **kwargs: Any) -> exp.Expr | None:
        # Functions with their own syntax (CAST, EXTRACT, max_by, ...) bypass ORIGINAL_NAME_META_KEY: name them too.
        token = self._curr
        result = super()._parse_function_call(*args, **kwargs)
        named = isinstance(result, exp.Expression) and not isinstance(result, exp.SubqueryPredicate)
        if named and token is not None and NAME_KEY not in result.meta:
            result.meta[NAME_KEY] = token.text
        return result


class _Parser(AthenaParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._trino_parser = _TrinoParser(
            error_level=self.error_level,
            error_message_context=self.error_message_context,
            max_errors=self.max_errors,
            max_nodes=self.max_nodes,
            dialect=_Trino(),
        )


class AthenaV3(Athena):
    """sqlglot's Athena dialect, parsing the way the local engine needs (see the module docstring)."""

    Parser = _Parser


def function_name(node: exp.Expression) -> str:
    """The Athena name a function was called by (lower case)."""
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    return str(node.meta.get(NAME_KEY) or node.sql_name()).lower()


@cache
def allowed_functions() -> frozenset[str]:
    from dataplatform.athena.conformance import load_entries, supported_functions

    return supported_functions(load_entries())


def check_supported(tree: exp.Expression) -> None:
    """Raise NotSupported for the first function off the allow-list or refused construct in the statement."""
    allowed = allowed_functions()
    for node in tree.walk():
        # Only calls are named; a Func without a name came from syntax: AND/OR, ARRAY[...], DATE '...' literals.
        if isinstance(node, exp.Anonymous) or NAME_KEY in node.meta:
            name = function_name(node)
            if name in QUANTIFIERS and isinstance(node.parent, exp.Predicate):
                continue  # x < ALL (VALUES ...): sqlglot reads the quantifier as a call
            if name not in allowed:
                raise NotSupported(name)
        elif type(node) in CONSTRUCTS:
            raise NotSupported(CONSTRUCTS[type(node)])


def to_duckdb(statement: exp.Expression, *, annotate: Callable[[exp.Expression], exp.Expression] | None) -> str:
    """DuckDB SQL with Athena's semantics for one parsed statement; raises NotSupported.

    `annotate` qualifies and type-annotates a copy of a statement against the catalog (None: no catalog types).
    """
    check_supported(statement)
    tree = transforms.apply(statement.copy(), annotate)
    try:
        return tree.sql(dialect="duckdb", pretty=True, unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as exc:
        raise NotSupported(str(exc).splitlines()[0].rstrip(".")) from exc


def parse(sql: str) -> list[exp.Expression]:
    """The statements of an Athena SQL text. SHOW statements parse as commands (metadata.py answers them):
    sqlglot's warning about that fallback is not for the user, so it is kept off stderr."""
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        return [s for s in sqlglot.parse(sql, read=AthenaV3) if s is not None]
    finally:
        logger.setLevel(level)
