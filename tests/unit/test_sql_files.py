"""The sql/ files: one statement each, severity headers, rendering, run order, and transpilation to DuckDB."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

from dataplatform.athena.sqlfiles import (
    SAMPLE_SQL_DIR,
    SqlFileError,
    database_names,
    load_sql_files,
    parameters_from_config,
    qualify_databases,
    render_sql,
    substitute_parameters,
)
from dataplatform.config import load_config

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "pipeline.yaml")
DATABASES = database_names(CONFIG.project)
PARAMS = parameters_from_config(CONFIG, "my-curated-bucket")
FILES = load_sql_files(SAMPLE_SQL_DIR)
MARTS = ("sales_reporting", "daily_revenue", "customer_ltv", "product_revenue", "customer_segments", "kpi_summary")


def test_every_required_file_exists_with_its_kind() -> None:
    kinds = {f.name: f.kind for f in FILES}
    for mart in MARTS:
        assert kinds[mart] == "view"
    assert "ddl" not in kinds.values()  # the audit table is the platform's (infra/audit_table.py)
    assertions = {f.name for f in FILES if f.kind == "assertion"}
    assert assertions == {
        "dq_ri_customers",
        "dq_ri_products",
        "dq_amounts",
        "dq_date_range",
        "dq_unique_keys",
        "dq_valid_segments",
        "dq_non_empty",
        "dq_reporting_currency",
    }
    assert all(f.severity in ("error", "warn") for f in FILES if f.kind == "assertion")


def test_run_order_puts_dependencies_first() -> None:
    position = {f.name: i for i, f in enumerate(FILES)}
    by_target = {f.target: f.name for f in FILES if f.target}
    for f in FILES:
        for read in f.reads:
            if read in by_target:
                assert position[by_target[read]] < position[f.name], (f.name, read)
    assert [f.kind for f in FILES] == sorted((f.kind for f in FILES), key=["ddl", "view", "assertion"].index)


@pytest.mark.parametrize("sql_file", FILES, ids=lambda f: f.name)
def test_rendered_file_parses_as_athena_and_transpiles_to_duckdb(sql_file) -> None:
    rendered = sql_file.render(PARAMS, DATABASES)
    assert "{{" not in rendered
    statements = sqlglot.parse(rendered, read="athena")
    assert len([s for s in statements if s is not None]) == 1
    if sql_file.kind != "ddl":  # DDL is executed by the engine as a catalog operation, not by DuckDB
        duckdb_sql = statements[0].sql(dialect="duckdb")
        reparsed = sqlglot.parse_one(duckdb_sql, read="duckdb")
        tables = {f"{t.db}.{t.name}" for t in reparsed.find_all(sqlglot.exp.Table) if t.db}
        assert tables and all(t.split(".")[0] in DATABASES.values() for t in tables), tables


def test_parameters_come_from_pipeline_yaml() -> None:
    assert PARAMS["segment_vip"] == "5000"
    assert PARAMS["segment_medium"] == "500"
    assert PARAMS["reporting_currency"] == "USD"
    assert PARAMS["quality_min_date"] == "2015-01-01"
    assert PARAMS["quality_max_future_days"] == "1"
    custom = CONFIG.model_copy(update={"segments": CONFIG.segments.model_copy(update={"vip": 7500.5})})
    assert parameters_from_config(custom)["segment_vip"] == "7500.5"
    assert "curated_bucket" not in parameters_from_config(CONFIG)


def test_segment_thresholds_are_rendered_into_the_view() -> None:
    segments = next(f for f in FILES if f.name == "customer_segments")
    rendered = segments.render(PARAMS, DATABASES)
    assert "lifetime_value >= 5000 THEN 'VIP'" in rendered
    assert "lifetime_value >= 2000 THEN 'High'" in rendered
    assert "lifetime_value >= 500 THEN 'Medium'" in rendered


def test_unknown_placeholder_names_the_source() -> None:
    with pytest.raises(SqlFileError, match=r"sql/x\.sql: unknown or unset parameter '\{\{ nope \}\}'"):
        substitute_parameters("SELECT {{ nope }}", PARAMS, source="sql/x.sql")


def test_qualifiers_are_rewritten_outside_comments_and_strings() -> None:
    sql = (
        "-- reads curated.sales\n"
        "SELECT s.x, 'curated.sales' AS label FROM curated.sales AS s "
        'JOIN "marts".daily_revenue d ON true JOIN retail_curated.products p ON true '
        "JOIN other.curated c ON true"
    )
    out = qualify_databases(sql, DATABASES)
    assert "-- reads curated.sales" in out
    assert "'curated.sales'" in out
    assert "FROM retail_curated.sales AS s" in out
    assert 'JOIN "retail_marts".daily_revenue' in out
    assert "JOIN retail_curated.products" in out
    assert "JOIN other.curated c" in out  # a table named like a database is not a qualifier


def test_database_names_replace_hyphens() -> None:
    assert database_names("my-shop") == {
        "curated": "my_shop_curated",
        "marts": "my_shop_marts",
        "audit": "my_shop_audit",
    }


def test_malformed_files_are_rejected_with_their_path(tmp_path: Path) -> None:
    (tmp_path / "quality").mkdir()
    bad = tmp_path / "quality" / "dq_missing_severity.sql"
    bad.write_text("SELECT 1 FROM curated.sales WHERE false")
    with pytest.raises(SqlFileError, match=r"dq_missing_severity\.sql: an assertion needs exactly one header"):
        load_sql_files(tmp_path)
    bad.write_text("-- severity: error\nSELECT 1; SELECT 2")
    with pytest.raises(SqlFileError, match="expected exactly one statement, found 2"):
        load_sql_files(tmp_path)
    bad.unlink()
    (tmp_path / "marts").mkdir()
    (tmp_path / "marts" / "v.sql").write_text("CREATE OR REPLACE VIEW v AS SELECT 1 AS a")
    with pytest.raises(SqlFileError, match="must be qualified"):
        load_sql_files(tmp_path)


def test_view_cycles_are_reported(tmp_path: Path) -> None:
    (tmp_path / "marts").mkdir()
    (tmp_path / "marts" / "a.sql").write_text("CREATE OR REPLACE VIEW marts.a AS SELECT * FROM marts.b")
    (tmp_path / "marts" / "b.sql").write_text("CREATE OR REPLACE VIEW marts.b AS SELECT * FROM marts.a")
    with pytest.raises(SqlFileError, match="cycle"):
        load_sql_files(tmp_path)


def test_render_sql_applies_both_steps() -> None:
    out = render_sql("SELECT '{{ reporting_currency }}' FROM marts.kpi_summary", PARAMS, DATABASES)
    assert out == "SELECT 'USD' FROM retail_marts.kpi_summary"


def test_comments_stay_in_the_header_and_never_reach_athena(tmp_path: Path) -> None:
    for sql_file in FILES:
        rendered = sql_file.render(PARAMS, DATABASES)
        assert "--" not in rendered and "/*" not in rendered, sql_file.name
        assert rendered.lstrip().upper().startswith(("CREATE", "SELECT", "WITH")), sql_file.name
    (tmp_path / "quality").mkdir()
    bad = tmp_path / "quality" / "dq_x.sql"
    bad.write_text("-- severity: warn\nSELECT 1 AS a\n-- why\nFROM curated.sales")
    with pytest.raises(SqlFileError, match=r"dq_x\.sql: comments are allowed only in the header"):
        load_sql_files(tmp_path)
    bad.write_text("SELECT 1 AS a FROM curated.sales\n-- severity: warn\n")
    with pytest.raises(SqlFileError, match="belongs in the header"):
        load_sql_files(tmp_path)
