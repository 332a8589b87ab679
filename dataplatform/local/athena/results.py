"""What the local Athena engine returns: a result with Athena's type names, or an error that shows the SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class AthenaQueryError(RuntimeError):
    """A statement failed: carries the SQL as given, the DuckDB SQL, the position and the engine's message."""

    def __init__(
        self,
        engine_message: str,
        *,
        sql: str,
        transpiled: str | None = None,
        line: int | None = None,
        column: int | None = None,
        stage: str,
        source: str | None = None,
    ) -> None:
        self.engine_message = engine_message
        self.sql = sql
        self.transpiled = transpiled
        self.line = line
        self.column = column
        self.stage = stage
        self.source = source
        where = source or "query"
        position = ""
        if line is not None:
            of = "the DuckDB SQL" if stage == "execute" else "the SQL"
            position = f" at line {line}" + (f", column {column}" if column is not None else "") + f" of {of}"
        parts = [f"{where}: {stage} failed{position}: {engine_message}", "--- SQL:", _numbered(sql)]
        if transpiled is not None:
            parts += ["--- DuckDB SQL:", _numbered(transpiled)]
        super().__init__("\n".join(parts))


class AthenaNotSupportedError(AthenaQueryError):
    """The statement uses a function or construct the local engine would not answer like Athena (one line)."""

    def __str__(self) -> str:
        return f"{self.source}: {self.engine_message}" if self.source else self.engine_message


def _numbered(sql: str) -> str:
    return "\n".join(f"{i:4d} | {line}" for i, line in enumerate(sql.splitlines(), 1))


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]
