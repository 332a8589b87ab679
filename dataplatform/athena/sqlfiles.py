"""The sql/ directory: load the Athena (Trino) statements, render them for one deployment, order them.

Rendering (the one mechanism, used on AWS and locally alike):
- Database names: SQL files use the logical names `curated`, `marts` and `audit` as qualifiers
  (`curated.sales`). The renderer rewrites every such qualifier token to the deployment's Glue database
  (`<project>_curated`, see `database_names`). It works on sqlglot tokens, so comments and string literals are
  never touched, and names that are already prefixed pass through unchanged. Do not use `curated`, `marts` or
  `audit` as table aliases in SQL that goes through the renderer.
- Parameters: `{{ name }}` placeholders are replaced from pipeline.yaml (`parameters_from_config`). An unknown
  placeholder is an error naming the file. Strings are inserted raw, so the SQL quotes them:
  `'{{ reporting_currency }}'`.

This module has no AWS or DuckDB imports: the CDK app (infra/analytics.py) renders the same files with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.dialects import Dialect
from sqlglot.tokens import TokenType

from dataplatform import naming
from dataplatform.config import PipelineConfig

LOGICAL_DATABASES = naming.ZONES
SAMPLE_SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
"""The sample pipeline's sql/ folder (a pipeline's own folder comes from `dataplatform.config.sql_dir_of`)."""
PLATFORM_TABLES = frozenset({"audit.runs"})
"""Tables the platform itself declares, which any pipeline's SQL may read."""
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
SEVERITY = re.compile(r"^\s*--\s*severity:\s*(\w+)\s*$", re.MULTILINE | re.IGNORECASE)
# Directory of a file under sql/ decides what it is and when it runs: DDL first, then views, then assertions.
Kind = Literal["ddl", "view", "assertion"]
KIND_BY_DIR: dict[str, Kind] = {"ddl": "ddl", "views": "view", "marts": "view", "quality": "assertion"}


class SqlFileError(ValueError):
    """A sql/ file is malformed or cannot be rendered; the message names the file."""


def database_names(project: str) -> dict[str, str]:
    """Glue database names of a deployment: `<project>_<logical>`; '-' becomes '_' (Glue/Athena identifiers)."""
    return dict(naming.database_names(project))


def parameters_from_config(config: PipelineConfig, curated_bucket: str | None = None) -> dict[str, str]:
    """Values for the `{{ name }}` placeholders of the sql/ files."""

    def number(value: float) -> str:
        # Decimal text, so Athena and DuckDB both read it as an exact DECIMAL literal, never a double.
        return format(Decimal(str(value)).normalize(), "f")

    params = {
        "project": config.project,
        "reporting_currency": config.reporting_currency,
        "segment_vip": number(config.segments.vip),
        "segment_high": number(config.segments.high),
        "segment_medium": number(config.segments.medium),
        "quality_min_date": config.quality.min_date.isoformat(),
        "quality_max_future_days": str(config.quality.max_future_days),
    }
    if curated_bucket is not None:
        params["curated_bucket"] = curated_bucket
    return params


def substitute_parameters(text: str, params: Mapping[str, str], *, source: str = "<sql>") -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in params:
            known = ", ".join(sorted(params)) or "none"
            raise SqlFileError(f"{source}: unknown or unset parameter '{{{{ {name} }}}}' (known: {known})")
        return params[name]

    return PLACEHOLDER.sub(replace, text)


def qualify_databases(text: str, databases: Mapping[str, str]) -> str:
    """Rewrite logical database qualifiers (`curated.x`) to the deployment's names (`retail_curated.x`)."""
    dialect = Dialect.get_or_raise("athena")
    try:
        tokens = dialect.tokenize(text)
    except sqlglot.errors.TokenError as exc:
        raise SqlFileError(f"cannot tokenize SQL: {exc}\n{text}") from exc
    out: list[str] = []
    cursor = 0
    for i, token in enumerate(tokens):
        if token.token_type not in (TokenType.VAR, TokenType.IDENTIFIER):
            continue
        name = token.text.lower()
        if name not in databases:
            continue
        follows_dot = i > 0 and tokens[i - 1].token_type == TokenType.DOT
        precedes_dot = i + 1 < len(tokens) and tokens[i + 1].token_type == TokenType.DOT
        if follows_dot or not precedes_dot:
            continue
        target = databases[name]
        quoted = token.token_type == TokenType.IDENTIFIER
        out.append(text[cursor : token.start])
        out.append(f'"{target}"' if quoted else target)
        cursor = token.end + 1
    out.append(text[cursor:])
    return "".join(out)


def render_sql(text: str, params: Mapping[str, str], databases: Mapping[str, str], *, source: str = "<sql>") -> str:
    """Parameters first (so rendered values are plain SQL), then database qualifiers."""
    return qualify_databases(substitute_parameters(text, params, source=source), databases)


@dataclass(frozen=True)
class SqlFile:
    """One statement file under sql/: `<kind dir>/<name>.sql`."""

    name: str
    kind: Kind
    path: Path
    text: str
    severity: Literal["error", "warn"] | None
    target: str | None
    """Logical `database.object` a DDL or view creates (None for assertions)."""
    reads: frozenset[str]
    """Logical `database.object` names the statement reads."""

    @property
    def database(self) -> str:
        """Logical database the statement runs in (Athena QueryExecutionContext)."""
        return self.target.split(".")[0] if self.target else "curated"

    @property
    def statement_text(self) -> str:
        """The statement without the header comment block (see `split_header`)."""
        return split_header(self.text)[1]

    def render(self, params: Mapping[str, str], databases: Mapping[str, str]) -> str:
        """The statement as sent to Athena: header comments dropped, parameters and database names rendered."""
        return render_sql(self.statement_text, params, databases, source=str(self.path))

    def workflow_query(self, params: Mapping[str, str], databases: Mapping[str, str]) -> str:
        """What the workflow runs: an assertion returns only its number of violating rows (one row, column
        `violations`), so check_quality reads one value however many rows violate it; the file itself (and its
        named query) still lists the rows, for a person to look at."""
        rendered = self.render(params, databases)
        if self.kind != "assertion":
            return rendered
        return f"SELECT count(*) AS violations FROM (\n{rendered.strip().rstrip(';')}\n) AS violating_rows\n"


def split_header(text: str) -> tuple[str, str]:
    """(header comment block, statement). Comments live only in the header: Athena's DDL parser (Hive) rejects
    queries that carry comments, so they never reach Athena."""
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith("--")):
        i += 1
    return "".join(lines[:i]), "".join(lines[i:]).strip() + "\n"


def parse_sql_file(path: Path, kind: Kind) -> SqlFile:
    text = path.read_text(encoding="utf-8")
    if SEVERITY.search(split_header(text)[1]):
        raise SqlFileError(f"{path}: the '-- severity:' line belongs in the header comment block at the top")
    severities = [s.lower() for s in SEVERITY.findall(split_header(text)[0])]
    if kind == "assertion":
        if len(severities) != 1 or severities[0] not in ("error", "warn"):
            raise SqlFileError(f"{path}: an assertion needs exactly one header line '-- severity: error|warn'")
        severity = severities[0]
    else:
        severity = None
    body = split_header(text)[1]
    # Parse with neutral placeholder values: the structure (target and sources) does not depend on them.
    probe = PLACEHOLDER.sub(lambda m: "0", body)
    try:
        commented = [t for t in Dialect.get_or_raise("athena").tokenize(probe) if t.comments]
    except sqlglot.errors.TokenError as exc:
        raise SqlFileError(f"{path}: cannot tokenize: {exc}") from exc
    if commented:
        raise SqlFileError(
            f"{path}: comments are allowed only in the header block at the top (line {commented[0].line} of the "
            "statement has one); Athena DDL rejects commented queries"
        )
    try:
        statements = [s for s in sqlglot.parse(probe, read="athena") if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise SqlFileError(f"{path}: does not parse as Athena SQL: {exc}") from exc
    if len(statements) != 1:
        raise SqlFileError(f"{path}: expected exactly one statement, found {len(statements)}")
    statement = statements[0]
    target: str | None = None
    if kind in ("ddl", "view"):
        if not isinstance(statement, exp.Create):
            raise SqlFileError(f"{path}: expected a CREATE statement in sql/{path.parent.name}/")
        table = statement.find(exp.Table)
        if table is None or table.db.lower() not in LOGICAL_DATABASES:
            raise SqlFileError(f"{path}: the created object must be qualified with one of {LOGICAL_DATABASES}")
        target = f"{table.db.lower()}.{table.name.lower()}"
        if kind == "view" and (statement.kind or "").upper() != "VIEW":
            raise SqlFileError(f"{path}: files in sql/{path.parent.name}/ must be CREATE OR REPLACE VIEW")
    elif not isinstance(statement, exp.Query):
        raise SqlFileError(f"{path}: an assertion must be a SELECT returning the violating rows")
    ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    reads = frozenset(
        f"{t.db.lower()}.{t.name.lower()}"
        for t in statement.find_all(exp.Table)
        if t.db and t.name.lower() not in ctes and f"{t.db.lower()}.{t.name.lower()}" != target
    )
    return SqlFile(path.stem, kind, path, text, severity, target, reads)


def load_sql_files(sql_dir: Path) -> list[SqlFile]:
    """Every statement under sql_dir in run order: DDL, then views (dependencies first), then assertions.

    A pipeline without the folder has no marts and no assertions.
    """
    files: list[SqlFile] = []
    if not sql_dir.is_dir():
        return files
    for path in sorted(sql_dir.rglob("*.sql")):
        kind = KIND_BY_DIR.get(path.parent.name)
        if kind is None:
            raise SqlFileError(f"{path}: unknown folder; expected one of sql/{{{', '.join(KIND_BY_DIR)}}}/")
        files.append(parse_sql_file(path, kind))
    names = [f.name for f in files]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SqlFileError(f"{sql_dir}: file names must be unique across folders: {', '.join(duplicates)}")
    return _ordered(files)


def _ordered(files: list[SqlFile]) -> list[SqlFile]:
    by_target = {f.target: f for f in files if f.target}
    done: set[str] = set()
    ordered: list[SqlFile] = []
    for kind in ("ddl", "view", "assertion"):
        pending = sorted((f for f in files if f.kind == kind), key=lambda f: f.name)
        while pending:
            ready = [f for f in pending if all(r in done or r not in by_target for r in f.reads)]
            if not ready:
                cycle = ", ".join(f.name for f in pending)
                raise SqlFileError(f"views depend on each other in a cycle (or on a later kind): {cycle}")
            for f in ready:
                ordered.append(f)
                if f.target:
                    done.add(f.target)
            pending = [f for f in pending if f not in ready]
    return ordered


def unknown_reads(files: list[SqlFile], config: PipelineConfig) -> list[str]:
    """One message per statement that reads a table neither the config, the platform nor another file defines."""
    known = set(PLATFORM_TABLES) | {f.target for f in files if f.target}
    for name in config.datasets:
        known |= {f"curated.{name}", f"curated.{name}_quarantine"}
    problems = []
    for sql_file in files:
        for table in sorted(sql_file.reads - known):
            database, _, name = table.partition(".")
            what = f"dataset '{name}'" if database == "curated" else f"'{table}'"
            problems.append(
                f"{sql_file.path}: reads {table}, but {what} is not defined by the pipeline config "
                f"(datasets: {', '.join(config.datasets)})"
            )
    return problems
