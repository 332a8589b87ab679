"""The API's SQL: fixed Athena statements with `?` execution parameters, the same text on AWS and locally.

No request value is ever put into SQL text: values travel as Athena execution parameters (each the text of one
SQL literal, built here by `literal`), and the only names in the text are the deployment's own (Glue databases
from the project name, marts from the allow-list, datasets and columns from pipeline.yaml and the catalog), each
checked against IDENTIFIER before use. Athena accepts `?` only in WHERE clauses, so limits and pages are
row_number() ranges, never `LIMIT ?`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from dataplatform.naming import Zone, glue_database

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,127}$")
MAX_DAILY_ROWS = 10000
SAMPLE_ROWS = 5
MAX_REASONS = 50
ORDERABLE = re.compile(
    r"^(varchar|string|char|date|timestamp|tinyint|smallint|int|integer|bigint|double|float|real|decimal|boolean)"
)


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: tuple[str, ...] = ()


def literal(value: str | int | date) -> str:
    """The text of one SQL literal for an execution parameter: `'text'` (quotes doubled), an integer, a date string."""
    if isinstance(value, bool):
        raise TypeError("booleans are not used as parameters")
    if isinstance(value, int):
        return str(value)
    text = value.isoformat() if isinstance(value, date) else value
    return "'" + text.replace("'", "''") + "'"


def identifier(name: str) -> str:
    if not IDENTIFIER.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return f'"{name}"'


def table(project: str, zone: Zone, name: str) -> str:
    return f"{identifier(glue_database(project, zone))}.{identifier(name)}"


def kpi_summary(project: str) -> Statement:
    return Statement(f"SELECT * FROM {table(project, 'marts', 'kpi_summary')}")


def revenue_by_category(project: str) -> Statement:
    return Statement(
        "SELECT category, CAST(sum(total_revenue) AS DECIMAL(18, 2)) AS revenue, CAST(sum(orders) AS bigint) AS orders,"
        " CAST(sum(total_quantity) AS bigint) AS quantity"
        f" FROM {table(project, 'marts', 'product_revenue')} GROUP BY category ORDER BY revenue DESC, category"
    )


def daily_revenue(project: str, start: date, end: date) -> Statement:
    return Statement(
        f"SELECT * FROM {table(project, 'marts', 'daily_revenue')}"
        " WHERE order_date >= CAST(? AS date) AND order_date <= CAST(? AS date)"
        f" ORDER BY order_date LIMIT {MAX_DAILY_ROWS}",
        (literal(start), literal(end)),
    )


def mart_page(project: str, mart: str, columns: list[tuple[str, str]], offset: int, limit: int) -> Statement:
    """Rows offset+1 .. offset+limit+1 of a mart in a total order (every orderable column), the extra row telling
    whether a next page exists."""
    order = ", ".join(identifier(name) for name, kind in columns if ORDERABLE.match(kind)) or "1"
    return Statement(
        "SELECT * FROM (SELECT t.*, row_number() OVER (ORDER BY "
        f'{order}) AS "_row" FROM {table(project, "marts", mart)} AS t)'
        ' WHERE "_row" > ? AND "_row" <= ? ORDER BY "_row"',
        (literal(offset), literal(offset + limit + 1)),
    )


def _latest_audit(project: str, where: str = "") -> str:
    """One row per (run, dataset): the latest record, so a re-run's second record does not count twice."""
    return (
        "SELECT * FROM (SELECT r.*, row_number() OVER (PARTITION BY run_id, dataset"
        f' ORDER BY finished_at DESC, run_date DESC) AS "_version" FROM {table(project, "audit", "runs")} AS r{where})'
        ' WHERE "_version" = 1'
    )


RUN_COLUMNS = (
    "run_id, CASE WHEN sum(CASE WHEN status = 'FAILED' THEN 1 ELSE 0 END) > 0 THEN 'FAILED' ELSE 'SUCCEEDED' END"
    " AS status, min(window_start) AS window_start, max(window_end) AS window_end, min(started_at) AS started_at,"
    " max(finished_at) AS finished_at, count(*) AS datasets,"
    " sum(CASE WHEN status = 'FAILED' THEN 1 ELSE 0 END) AS failed_datasets,"
    " coalesce(sum(raw_rows), 0) AS raw_rows, coalesce(sum(curated_rows), 0) AS curated_rows,"
    " coalesce(sum(quarantined_rows), 0) AS quarantined_rows, coalesce(sum(duplicate_rows), 0) AS duplicate_rows,"
    # A failed run writes the same failure into every dataset's record.
    " max(error_step) AS error_step, max(error) AS error"
)


def runs(project: str, limit: int) -> Statement:
    return Statement(
        f"SELECT * FROM (SELECT {RUN_COLUMNS}, row_number() OVER (ORDER BY max(started_at) DESC, run_id DESC)"
        f' AS "_row" FROM ({_latest_audit(project)}) GROUP BY run_id) WHERE "_row" <= ? ORDER BY "_row"',
        (literal(limit),),
    )


def run_summary(project: str, run_id: str) -> Statement:
    return Statement(
        f"SELECT {RUN_COLUMNS} FROM ({_latest_audit(project, ' WHERE run_id = ?')}) GROUP BY run_id",
        (literal(run_id),),
    )


def run_datasets(project: str, run_id: str) -> Statement:
    return Statement(
        f"SELECT * FROM ({_latest_audit(project, ' WHERE run_id = ?')}) ORDER BY dataset", (literal(run_id),)
    )


def dataset_runs(project: str, runs: int) -> Statement:
    """Every dataset's record in the latest `runs` runs, newest run first (the console's per-dataset history)."""
    latest = _latest_audit(project)
    return Statement(
        f"SELECT d.* FROM ({latest}) AS d JOIN (SELECT run_id, row_number() OVER (ORDER BY max(started_at) DESC,"
        f' run_id DESC) AS "_row" FROM ({latest}) GROUP BY run_id) AS r ON d.run_id = r.run_id'
        ' WHERE r."_row" <= ? ORDER BY r."_row", d.dataset',
        (literal(runs),),
    )


def customer_segments(project: str) -> Statement:
    return Statement(
        "SELECT segment, count(*) AS customers, CAST(sum(lifetime_value) AS DECIMAL(18, 2)) AS lifetime_value"
        f" FROM {table(project, 'marts', 'customer_segments')} GROUP BY segment"
        " ORDER BY min(lifetime_value) DESC, segment"
    )


def _quarantine_filter(run_id: str | None) -> tuple[str, tuple[str, ...]]:
    return (" WHERE run_id = ?", (literal(run_id),)) if run_id else ("", ())


def quarantine_reasons(project: str, dataset: str, run_id: str | None) -> Statement:
    where, parameters = _quarantine_filter(run_id)
    return Statement(
        f'SELECT reason, count(*) AS "rows" FROM {table(project, "curated", f"{dataset}_quarantine")}{where}'
        f' GROUP BY reason ORDER BY "rows" DESC, reason LIMIT {MAX_REASONS}',
        parameters,
    )


def quarantine_samples(project: str, dataset: str, run_id: str | None, columns: list[str]) -> Statement:
    where, parameters = _quarantine_filter(run_id)
    selected = ", ".join(identifier(c) for c in columns)
    order = ", ".join(identifier(c) for c in columns[:8])
    return Statement(
        f"SELECT {selected} FROM {table(project, 'curated', f'{dataset}_quarantine')}{where}"
        f" ORDER BY {order} LIMIT {SAMPLE_ROWS}",
        parameters,
    )
