"""Lineage derivation: sources, raw and curated from pipeline.yaml, marts from the tables their SQL reads."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dataplatform.athena import SAMPLE_SQL_DIR, load_sql_files
from dataplatform.config import load_config
from dataplatform.console.graph_layout import NODE_WIDTH, layout
from dataplatform.console.lineage import derive_lineage

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = load_config(ROOT / "pipeline.yaml")

PIPELINE = textwrap.dedent(
    """\
    project: shop
    schedule: {cron: "0 4 * * ? *"}
    datasets:
      orders:
        source: {kind: csv, location: landing/orders/}
        contract:
          key: [order_id]
          partition_column: order_date
          columns:
            - {name: order_id, type: string, nullable: false}
            - {name: order_date, type: date, nullable: false}
            - {name: amount, type: "decimal(12,2)"}
    """
)


def pipeline(tmp_path: Path, views: dict[str, str]) -> tuple[object, list[object]]:
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    (tmp_path / "sql" / "marts").mkdir(parents=True)
    for name, sql in views.items():
        (tmp_path / "sql" / "marts" / f"{name}.sql").write_text(sql)
    return load_config(tmp_path / "pipeline.yaml"), load_sql_files(tmp_path / "sql")


def test_sample_lineage_follows_the_sql_reads() -> None:
    lineage = derive_lineage(SAMPLE, load_sql_files(SAMPLE_SQL_DIR))
    edges = set(lineage.edges)
    for dataset in SAMPLE.datasets:
        assert {(f"source:{dataset}", f"raw:{dataset}"), (f"raw:{dataset}", f"curated:{dataset}")} <= edges
    assert ("curated:exchange_rates", "curated:sales") in edges  # depends_on: currency conversion
    assert {("curated:sales", "marts:sales_reporting"), ("curated:transactions", "marts:sales_reporting")} <= edges
    assert {("marts:sales_reporting", "marts:customer_ltv"), ("marts:customer_ltv", "marts:customer_segments")} <= edges
    into_kpis = {source for source, target in edges if target == "marts:kpi_summary"}
    assert into_kpis == {"marts:sales_reporting", "marts:customer_segments"}  # the scalar subquery counts too
    assert lineage.node("source:products").detail == "postgres: products"
    assert lineage.node("source:sales").detail == "csv: landing/sales/"
    depth = {n.id: n.column for n in lineage.nodes}
    assert depth["marts:sales_reporting"] < depth["marts:customer_ltv"] < depth["marts:customer_segments"]
    assert depth["marts:customer_segments"] < depth["marts:kpi_summary"]


def test_a_new_view_appears_with_its_reads_ctes_excluded(tmp_path: Path) -> None:
    config, files = pipeline(
        tmp_path,
        {
            "big_orders": "CREATE OR REPLACE VIEW marts.big_orders AS WITH o AS (SELECT * FROM curated.orders)"
            " SELECT o.* FROM o WHERE amount > 100",
            "rejects": "CREATE OR REPLACE VIEW marts.rejects AS SELECT reason, count(*) AS n"
            " FROM curated.orders_quarantine GROUP BY reason",
        },
    )
    lineage = derive_lineage(config, files)  # type: ignore[arg-type]
    assert ("curated:orders", "marts:big_orders") in lineage.edges
    assert ("curated:orders", "marts:rejects") in lineage.edges  # a quarantine is drawn as its dataset
    assert not any(t == "marts:big_orders" and s != "curated:orders" for s, t in lineage.edges)


def test_a_read_of_an_undefined_table_names_the_file(tmp_path: Path) -> None:
    config, files = pipeline(tmp_path, {"ghost": "CREATE OR REPLACE VIEW marts.ghost AS SELECT * FROM curated.ghosts"})
    with pytest.raises(ValueError, match=r"ghost\.sql: reads curated\.ghosts"):
        derive_lineage(config, files)  # type: ignore[arg-type]


def test_layout_places_every_node_left_of_what_it_feeds_except_within_curated() -> None:
    lineage = derive_lineage(SAMPLE, load_sql_files(SAMPLE_SQL_DIR))
    graph = layout(lineage)
    x = {p.node.id: p.x for p in graph.nodes}
    assert set(x) == {n.id for n in lineage.nodes}
    for source, target in lineage.edges:
        same_column = lineage.node(source).column == lineage.node(target).column
        assert x[source] == x[target] if same_column else x[source] < x[target]
    positions = [(p.x, p.y) for p in graph.nodes]
    assert len(set(positions)) == len(positions)  # no two nodes on top of each other
    assert graph.width == max(x.values()) + NODE_WIDTH + 10
