"""Lineage of a pipeline, derived (never hand-maintained): each dataset's source from pipeline.yaml, its raw and
curated tables, `depends_on` between curated tables (currency conversion reads the rates), and every view of
sql/ with the tables its statement reads, as sqlglot parsed them (`SqlFile.reads`).

Node ids are `<layer>:<name>`: `source:sales`, `raw:sales`, `curated:sales`, `marts:daily_revenue`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from graphlib import TopologicalSorter
from typing import TYPE_CHECKING, Literal

from dataplatform.config import PipelineConfig

if TYPE_CHECKING:  # parsing (sqlglot) loads only when the lineage page is first asked for: a light cold start
    from dataplatform.athena.sqlfiles import SqlFile

Layer = Literal["source", "raw", "curated", "marts", "audit"]
FIXED_COLUMNS: dict[Layer, int] = {"source": 0, "raw": 1, "curated": 2, "audit": 2}


@dataclass(frozen=True)
class LineageNode:
    id: str
    layer: Layer
    label: str
    detail: str
    column: int
    """Left-to-right position: sources, raw, curated, then marts by the depth of the views they read."""


@dataclass(frozen=True)
class Lineage:
    nodes: tuple[LineageNode, ...]
    edges: tuple[tuple[str, str], ...]

    def node(self, node_id: str) -> LineageNode:
        return next(n for n in self.nodes if n.id == node_id)


def source_detail(config: PipelineConfig, dataset: str) -> str:
    """Where a dataset comes from, in a few words (kind and location, URL or table)."""
    source = config.datasets[dataset].source
    where = getattr(source, "location", None) or getattr(source, "table", None)
    if where is None and hasattr(source, "base_url"):
        where = f"{source.base_url}{source.path}"  # type: ignore[union-attr]
    return f"{source.kind}: {where or 'query'}"


def derive_lineage(config: PipelineConfig, sql_files: Sequence[SqlFile]) -> Lineage:
    """The graph from sources through raw and curated to the marts; raises ValueError for a read of a table
    nothing defines (`dataplatform validate` reports those first)."""
    nodes: dict[str, LineageNode] = {}
    edges: set[tuple[str, str]] = set()
    for name, dataset in config.datasets.items():
        nodes[f"source:{name}"] = LineageNode(f"source:{name}", "source", name, source_detail(config, name), 0)
        nodes[f"raw:{name}"] = LineageNode(f"raw:{name}", "raw", f"raw/{name}", "immutable, per run", 1)
        nodes[f"curated:{name}"] = LineageNode(f"curated:{name}", "curated", f"curated.{name}", "contract", 2)
        edges |= {(f"source:{name}", f"raw:{name}"), (f"raw:{name}", f"curated:{name}")}
        edges |= {(f"curated:{dependency}", f"curated:{name}") for dependency in dataset.depends_on}
    views = {f.target: f for f in sql_files if f.kind == "view" and f.target}
    order = TopologicalSorter({target: {r for r in f.reads if r in views} for target, f in views.items()})
    depth: dict[str, int] = {}
    for target in order.static_order():
        reads = views[target].reads
        depth[target] = 1 + max((depth[r] for r in reads if r in depth), default=0)
        database = target.partition(".")[0]
        nodes[_node_id(target)] = LineageNode(
            _node_id(target), "marts" if database == "marts" else "curated", target, "view", 2 + depth[target]
        )
        for read in sorted(reads):
            edges.add((_read_node(read, nodes, str(views[target].path)), _node_id(target)))
    return Lineage(tuple(nodes.values()), tuple(sorted(edges)))


def _node_id(table: str) -> str:
    database, _, name = table.partition(".")
    return f"{database}:{name}"


def _read_node(table: str, nodes: dict[str, LineageNode], reader: str) -> str:
    node_id = _node_id(table)
    if node_id in nodes:
        return node_id
    database, _, name = table.partition(".")
    if database == "curated" and name.endswith("_quarantine") and f"curated:{name[: -len('_quarantine')]}" in nodes:
        return f"curated:{name[: -len('_quarantine')]}"  # a dataset's quarantine: drawn as the dataset
    if table == "audit.runs":
        nodes[node_id] = LineageNode(node_id, "audit", table, "one record per dataset per run", FIXED_COLUMNS["audit"])
        return node_id
    raise ValueError(f"{reader}: reads {table}, which neither pipeline.yaml nor another sql/ file defines")
