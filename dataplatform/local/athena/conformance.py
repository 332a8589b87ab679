"""The Athena conformance table (`conformance.yaml`): what the local engine answers exactly like Athena engine v3.

Each entry is a query with the result and result types that Trino's documentation gives (Athena engine v3 is
Trino-based), and either
- no `refused`: the local engine must return exactly that result with exactly those types; its `name` (a function)
  then goes on the allow-list the dialect layer enforces (`dialect.check_supported`), or
- `refused: <construct>`: the local engine must fail with `not supported by the local engine: <construct>`; `why`
  says what DuckDB would have answered instead.
tests/conformance runs every entry. `python -m dataplatform.local.athena.conformance` rewrites docs/local-athena.md.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).with_name("conformance.yaml")
DOC = Path(__file__).resolve().parents[3] / "docs" / "local-athena.md"
KINDS = ("function", "construct")
FIELDS = {"id", "category", "name", "kind", "sql", "value", "result", "type", "types", "error", "refused", "why"}
FIELDS |= {"source", "fixture", "note", "nondeterministic"}


@dataclass(frozen=True)
class Entry:
    id: str
    category: str
    name: str
    kind: str
    sql: str
    source: str
    result: list[list[Any]] | None = None
    types: list[str] | None = None
    error: str | None = None
    """Athena fails with this message instead of returning rows; the local engine must fail too."""
    refused: str | None = None
    """The construct named in the local refusal (`not supported by the local engine: <refused>`)."""
    why: str | None = None
    fixture: str | None = None
    """`lake`: the query reads the conformance fixture lake (curated, marts, audit) instead of no tables."""
    note: str | None = None
    nondeterministic: bool = False
    """The value changes per run (now(), random()): only the types and the row count are compared."""

    @property
    def supported(self) -> bool:
        return self.refused is None


def _entry(raw: dict[str, Any], where: str) -> Entry:
    unknown = set(raw) - FIELDS
    if unknown:
        raise ValueError(f"{where}: unknown fields {sorted(unknown)}")
    for required in ("id", "category", "name", "sql", "source"):
        if not raw.get(required):
            raise ValueError(f"{where}: '{required}' is required")
    result = raw.get("result")
    if "value" in raw:
        result = [[raw["value"]]]
    types = raw.get("types") or ([raw["type"]] if "type" in raw else None)
    if (result is None) == (raw.get("error") is None):
        raise ValueError(f"{where}: give exactly one of value/result (with type/types) or error")
    if result is not None and (types is None or any(len(row) != len(types) for row in result)):
        raise ValueError(f"{where}: every row needs one value per entry of types")
    refused = raw.get("refused")
    if refused is True:
        refused = raw["name"]
    if refused is not None and not raw.get("why"):
        raise ValueError(f"{where}: a refused entry says why")
    kind = raw.get("kind", "function")
    if kind not in KINDS:
        raise ValueError(f"{where}: kind must be one of {KINDS}")
    return Entry(
        id=raw["id"],
        category=raw["category"],
        name=raw["name"],
        kind=kind,
        sql=raw["sql"].strip(),
        source=raw["source"],
        result=result,
        types=types,
        error=raw.get("error"),
        refused=refused,
        why=raw.get("why"),
        fixture=raw.get("fixture"),
        note=raw.get("note"),
        nondeterministic=bool(raw.get("nondeterministic", False)),
    )


@cache
def load_entries(path: Path = DATA) -> tuple[Entry, ...]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = tuple(_entry(item, f"{path.name} entry {i + 1}") for i, item in enumerate(raw))
    duplicates = [k for k, n in Counter(e.id for e in entries).items() if n > 1]
    if duplicates:
        raise ValueError(f"{path.name}: duplicate ids {duplicates}")
    return entries


def supported_functions(entries: tuple[Entry, ...]) -> frozenset[str]:
    """The allow-list: functions with at least one entry the local engine answers exactly like Athena."""
    return frozenset(e.name.lower() for e in entries if e.kind == "function" and e.supported)


# ---------------------------------------------------------------- docs/local-athena.md


def _cell(value: Any) -> str:
    text = "NULL" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return "`" + _cell(text).replace("`", "'") + "`"


def _expected(entry: Entry) -> str:
    if entry.error is not None:
        return f"error: {_cell(entry.error)}"
    assert entry.result is not None and entry.types is not None
    rows = entry.result
    shown = "; ".join(", ".join(_cell(v) for v in row) for row in rows[:4]) + (" ..." if len(rows) > 4 else "")
    if entry.nondeterministic:
        shown = f"e.g. {shown}, only the type is compared"
    return f"{shown} ({', '.join(entry.types)})"


def render_doc(entries: tuple[Entry, ...]) -> str:
    supported = [e for e in entries if e.supported]
    refused = [e for e in entries if not e.supported]
    allowed = sorted(supported_functions(entries))
    lines = [
        "# Local Athena: conformance with Athena engine v3",
        "",
        "<!-- Generated by `python -m dataplatform.local.athena.conformance` from",
        "     dataplatform/local/athena/conformance.yaml;",
        "     tests/conformance fails when this file is out of date. Edit the YAML, not this file. -->",
        "",
        "`dataplatform query` and every Athena step of a local run execute Athena SQL on DuckDB: sqlglot",
        "transpiles it, and the dialect layer in `dataplatform/athena/` (`dialect.py`, `transforms.py`, `typed.py`,",
        "`macros.py`, `types.py`, `metadata.py`) keeps Athena's semantics where DuckDB's differ. The local engine",
        "is never silently wrong: a query either returns what Athena engine v3 returns, with the same result types,",
        "or fails with one line",
        "",
        "```",
        "not supported by the local engine: <function or construct>",
        "```",
        "",
        "## How it decides",
        "",
        "- **Allow-list.** A function runs locally only if it is on the allow-list: the functions that have a",
        "  conformance entry below that the local engine answers exactly (value and type). Any other function is",
        "  refused by name, whether it is known to be wrong (the refused table) or was never verified (sqlglot",
        "  would otherwise pass an unknown function through with DuckDB's meaning of the name).",
        "- **Refused constructs.** `AT TIME ZONE`, `TABLESAMPLE`, `MATCH_RECOGNIZE`, casts to `varchar(n)`, and",
        "  type-dependent cases the layer cannot reproduce (for example `CAST(double AS varchar)`, `array_join`",
        "  of doubles, `date - date`, a decimal `avg` or `round` whose precision is unknown before execution) fail",
        "  with the refusal line; the last kind is detected by DuckDB macros when the statement runs.",
        "- **Result types** are reported with Athena's names: `varchar`, `integer`, `bigint`, `double`, `real`,",
        "  `decimal(p,s)`, `date`, `timestamp`, `timestamp with time zone`, `array(...)`, `map(...)`, `row(...)`,",
        "  `json`, `varbinary`, `boolean`. As in Athena's result metadata (ColumnInfo.Type), `varchar` carries no",
        "  length and timestamps no precision; the precision is in the values, which are compared exactly:",
        "  milliseconds for Hive tables and Athena's timestamp functions (`timestamp(3)`), microseconds for Iceberg",
        "  columns (`timestamp(6)` and `timestamp(6) with time zone` in Athena engine v3, Trino's Iceberg type",
        "  mapping). A DuckDB type with no Athena counterpart (interval, time, uuid) is refused, never renamed;",
        "  DuckDB's hugeint and ubigint, which only its integer sums and counts produce, are Athena's bigint, and a",
        "  value beyond bigint's range fails like Trino's overflow.",
        "- **Time zone.** The session time zone is UTC, as in Athena. Zoned timestamps are kept in UTC, so input",
        "  with another offset is refused (`from_iso8601_timestamp`), and so is `AT TIME ZONE`.",
        "- **Metadata.** `SHOW TABLES [IN db] ['pattern']`, `SHOW DATABASES`/`SHOW SCHEMAS`, `SHOW COLUMNS IN t`,",
        "  `DESCRIBE t` and `information_schema.{schemata,tables,columns,views}` show the logical database names",
        "  `curated`, `marts`, `audit`, `staged_curated` and `staged_marts`, the names `dataplatform query` accepts.",
        "- **Iceberg tables** (the curated zone) are read through their Iceberg metadata: the current snapshot,",
        "  `FOR VERSION AS OF <bigint snapshot id>` (any snapshot, branch-only ones included, with that snapshot's",
        "  schema), `FOR TIMESTAMP AS OF <timestamp or date>` (the snapshot current on main at that time; UTC when no",
        '  zone is given), also inside views, and the metadata tables `"t$snapshots"`, `"t$history"` and',
        '  `"t$refs"` with Trino\'s columns. A branch or tag name after `FOR VERSION AS OF` (Trino syntax that AWS',
        "  does not document for Athena) and the `$files`, `$manifests` and `$partitions` tables (whose columns",
        "  depend on the Trino release inside Athena) are refused.",
        "- **Errors.** Where Athena fails (for example division by zero), the local engine fails too for the",
        "  entries below. Beyond them the local engine may answer a query that Athena rejects (out-of-range array",
        "  subscripts return NULL, `'a' || 1` concatenates); it does not answer a valid query differently.",
        "",
        "## What the layer changes",
        "",
        "Rewrites in `transforms.py` and DuckDB macros in `macros.py`, each verified by entries below: `format()`",
        "follows java.util.Formatter (DuckDB's `format` is fmt-style and returned the pattern unchanged); a date plus",
        "or minus a day, month or year interval stays a date; `date_add` keeps the input type; `date_diff` counts",
        "whole units (DuckDB counts boundaries); `date_trunc` of a date is a date; `approx_distinct` is exact (within",
        "Trino's documented error, and what Athena returns for small sets); `UNNEST` of an array of rows, of a map",
        "and of several arrays; integer `/` and `%` truncate and fail on zero; decimal `/`, `%` and `avg` have",
        "Trino's types and round the exact quotient half up (DuckDB divides decimals in double precision);",
        "`DECIMAL '1.50'` is decimal(3,2) and a bare `DECIMAL` is decimal(38,0) (DuckDB: decimal(18,3)); a double",
        "cast to an integer rounds half away from zero; `now()` has millisecond precision; `split_part` past the",
        "end and `regexp_extract` without a match are NULL; `regexp_replace` takes `$1` group references;",
        "`array_distinct` and `array_except` keep the first array's order; `array_position` is 0 when missing;",
        "`repeat`, `reverse`, `slice` and `sequence` have Trino's array meaning; `extract(DOW ...)` is ISO;",
        "`millisecond()` is the millisecond of the second; `ceil`, `floor`, `round`, `truncate` and `sign` of a",
        "decimal have Trino's result types; `substr` with start 0 or before the string is ''; `array_max` and",
        "`array_min` are NULL when an element is; `json_extract_scalar` of an object is NULL; a cast to",
        "`timestamp` rounds to milliseconds; integer sums are bigint.",
        "",
        "## Measured",
        "",
        "| | entries | share |",
        "|---|---:|---:|",
        f"| match Athena exactly | {len(supported)} | {len(supported) / len(entries):.0%} |",
        f"| refused with the one-line message | {len(refused)} | {len(refused) / len(entries):.0%} |",
        "| different answer (value, type or traceback) | 0 | 0% |",
        f"| **total** | **{len(entries)}** | |",
        "",
        "`.venv/bin/python -m pytest tests/conformance -q` runs every entry and prints",
        f"`athena conformance: {len(entries)} entries, {len(supported)} match Athena, {len(refused)} refused, "
        "0 wrong`; any difference fails the suite.",
        "",
        f"Allow-list ({len(allowed)} functions): " + ", ".join(f"`{name}`" for name in allowed) + ".",
        "",
        "## Supported: the local engine returns exactly this",
        "",
    ]
    for category in dict.fromkeys(e.category for e in supported):
        lines += [f"### {category}", "", "| name | query | Athena result (types) | source |", "|---|---|---|---|"]
        for e in (x for x in supported if x.category == category):
            lines.append(f"| {_cell(e.name)} | {_code(e.sql)} | {_expected(e)} | {_cell(e.source)} |")
        lines.append("")
    lines += [
        "## Refused: the local engine fails with `not supported by the local engine: ...`",
        "",
        "| name | query | refused as | why | Athena result (types) | source |",
        "|---|---|---|---|---|---|",
    ]
    for e in refused:
        lines.append(
            f"| {_cell(e.name)} | {_code(e.sql)} | {_code(str(e.refused))} | {_cell(e.why)} | {_expected(e)} "
            f"| {_cell(e.source)} |"
        )
    lines += [
        "",
        "## Adding an entry",
        "",
        "1. Find the function in Trino's documentation (`docs/src/main/sphinx/functions/*.md` in trinodb/trino;",
        "   Athena's own pages for `SHOW`/`DESCRIBE`). Take the example query and its documented result, or derive",
        "   the result by hand from the documented definition. Never take it from running DuckDB.",
        "2. Add it to `dataplatform/local/athena/conformance.yaml`: `id`, `category`, `name` (the function as called),",
        "   `sql`, `value` (or `result`: a list of rows) with `type` (or `types`), or `error` when Athena fails,",
        "   and `source` (the doc page and function). Quote decimals (`'1.50'`) so their scale survives YAML;",
        "   timestamps are `'2020-01-02 03:04:05.000'`, with ` UTC` for `timestamp(p) with time zone`; arrays",
        "   and rows are YAML lists, maps YAML mappings. Every entry runs against the conformance lake (the test",
        "   fixture's curated tables, `audit.runs` and the marts views); mark entries that read it `fixture: lake`.",
        "   A value that changes per run (`now()`) is `nondeterministic: true`: only its type is compared.",
        "3. Run `.venv/bin/python -m pytest tests/conformance -q`. If the entry fails, fix the difference in the",
        "   dialect layer (a rewrite in `transforms.py`, a macro in `macros.py`) or mark it",
        "   `refused: <construct>` with `why` (what DuckDB returns instead). A supported entry puts its function",
        "   on the allow-list; a function with only refused entries stays off it.",
        "4. Regenerate this page: `.venv/bin/python -m dataplatform.local.athena.conformance`.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write docs/local-athena.md from the conformance table.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the doc is out of date instead of writing")
    args = parser.parse_args(argv)
    text = render_doc(load_entries())
    if args.check:
        current = DOC.read_text(encoding="utf-8") if DOC.is_file() else ""
        if current != text:
            print(f"{DOC} is out of date: run python -m dataplatform.local.athena.conformance", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
