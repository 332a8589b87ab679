"""Template test of the Analytics construct on a small test stack (no bundling, no validator)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from dataplatform.athena import SAMPLE_SQL_DIR, load_sql_files
from dataplatform.config import load_config
from infra.analytics import Analytics

ROOT = Path(__file__).resolve().parents[2]
DATABASES = {"curated": "retail_curated", "marts": "retail_marts", "audit": "retail_audit"}


@pytest.fixture(scope="module")
def built() -> tuple[Analytics, Template]:
    config = load_config(ROOT / "pipeline.yaml")
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "AnalyticsTest", env=Environment(account="123456789012", region="eu-central-1"))
    bucket = s3.Bucket(stack, "Curated")
    analytics = Analytics(
        stack,
        "Analytics",
        config=config,
        database_names=DATABASES,
        workgroup_name="retail",
        curated_bucket_name=bucket.bucket_name,
        sql_dir=SAMPLE_SQL_DIR,
    )
    return analytics, Template.from_stack(stack)


def _query_text(query_string: object) -> str:
    """QueryString is a plain string, or an Fn::Join when it embeds the bucket name token."""
    if isinstance(query_string, str):
        return query_string
    assert isinstance(query_string, dict) and "Fn::Join" in query_string
    _, parts = query_string["Fn::Join"]
    return "".join(p if isinstance(p, str) else "<token>" for p in parts)


def test_one_named_query_per_sql_file_in_the_workgroup(built: tuple[Analytics, Template]) -> None:
    _, template = built
    files = load_sql_files(SAMPLE_SQL_DIR)
    queries = template.find_resources("AWS::Athena::NamedQuery")
    assert len(queries) == len(files)
    names = sorted(q["Properties"]["Name"] for q in queries.values())
    assert names == sorted(f"retail-{f.kind}-{f.name}" for f in files)
    template.has_resource_properties(
        "AWS::Athena::NamedQuery",
        {"Name": "retail-view-sales_reporting", "Database": "retail_marts", "WorkGroup": "retail"},
    )
    template.has_resource_properties(
        "AWS::Athena::NamedQuery",
        {"Name": "retail-assertion-dq_unique_keys", "Database": "retail_curated", "QueryString": Match.any_value()},
    )


def test_queries_are_rendered_for_the_deployment(built: tuple[Analytics, Template]) -> None:
    _, template = built
    texts = {
        q["Properties"]["Name"]: _query_text(q["Properties"]["QueryString"])
        for q in template.find_resources("AWS::Athena::NamedQuery").values()
    }
    for name, text in texts.items():
        assert "{{" not in text, name
        # no unprefixed logical database qualifier is left (the prefixed ones look like retail_curated.x)
        code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
        assert not re.search(r"(?<![\w.])(curated|marts|audit)\.\w", code), name
    assert "CREATE OR REPLACE VIEW retail_marts.customer_segments" in texts["retail-view-customer_segments"]
    assert ">= 5000 THEN 'VIP'" in texts["retail-view-customer_segments"]
    assert "DATE '2015-01-01'" in texts["retail-assertion-dq_date_range"]


def test_steps_are_in_run_order_with_severities(built: tuple[Analytics, Template]) -> None:
    analytics, _ = built
    kinds = [s.kind for s in analytics.steps]
    assert kinds == sorted(kinds, key=["ddl", "view", "assertion"].index)
    views = [s.name for s in analytics.refresh_steps]
    assert views.index("sales_reporting") < views.index("customer_ltv") < views.index("customer_segments")
    assert views.index("customer_segments") < views.index("kpi_summary")
    severities = {s.name: s.severity for s in analytics.assertion_steps}
    assert severities["dq_unique_keys"] == "error"
    assert severities["dq_ri_customers"] == "warn"
    assert all(s.severity is None for s in analytics.refresh_steps)
    # The workflow's Map items: what the Athena task reads (name, database, sql) and, for assertions, the severity.
    warn = next(s for s in analytics.assertion_steps if s.name == "dq_ri_customers")
    assert warn.state_item() == {
        "name": "dq_ri_customers",
        "database": warn.database,
        "sql": warn.query,
        "severity": "warn",
    }
    assert set(analytics.refresh_steps[0].state_item()) == {"name", "database", "sql"}


def test_policy_statements_scope_athena_to_the_workgroup(built: tuple[Analytics, Template]) -> None:
    analytics, _ = built
    stack = Stack.of(analytics)
    athena_statement, glue_statement = (s.to_json() for s in analytics.query_policy_statements())
    assert "athena:StartQueryExecution" in athena_statement["Action"]
    resolved = stack.resolve(athena_statement["Resource"])
    assert "workgroup/retail" in str(resolved)
    assert "glue:CreateTable" in glue_statement["Action"]


def test_missing_database_name_is_rejected() -> None:
    config = load_config(ROOT / "pipeline.yaml")
    stack = Stack(App(builtin_cloud_formation_validation=False))
    with pytest.raises(ValueError, match="audit"):
        Analytics(
            stack,
            "A",
            config=config,
            database_names={"curated": "c", "marts": "m"},
            workgroup_name="w",
            sql_dir=SAMPLE_SQL_DIR,
            curated_bucket_name="b",
        )
