"""Positions for the lineage graph, drawn as server-side SVG: one column per layer, nodes stacked in each column in
the order that keeps edges short (each node below the average row of what feeds it), edges as curves."""

from __future__ import annotations

from dataclasses import dataclass

from dataplatform.console.lineage import Lineage, LineageNode

NODE_WIDTH, NODE_HEIGHT = 190, 44
COLUMN_GAP, ROW_GAP, MARGIN = 60, 18, 10


@dataclass(frozen=True)
class PlacedNode:
    node: LineageNode
    x: int
    y: int


@dataclass(frozen=True)
class PlacedEdge:
    source: str
    target: str
    path: str
    """SVG path data from the right side of `source` to the left side of `target`."""


@dataclass(frozen=True)
class GraphLayout:
    width: int
    height: int
    nodes: tuple[PlacedNode, ...]
    edges: tuple[PlacedEdge, ...]


def layout(lineage: Lineage) -> GraphLayout:
    columns: dict[int, list[LineageNode]] = {}
    for node in lineage.nodes:
        columns.setdefault(node.column, []).append(node)
    feeds: dict[str, list[str]] = {}
    for source, target in lineage.edges:
        feeds.setdefault(target, []).append(source)
    rows: dict[str, float] = {}
    for column in sorted(columns):

        def rank(node: LineageNode) -> tuple[float, str]:
            parents = [rows[p] for p in feeds.get(node.id, []) if p in rows]
            return (sum(parents) / len(parents) if parents else float(len(rows)), node.id)

        columns[column].sort(key=rank)
        for row, node in enumerate(columns[column]):
            rows[node.id] = row
    placed = {
        node.id: PlacedNode(node, MARGIN + index * (NODE_WIDTH + COLUMN_GAP), MARGIN + row * (NODE_HEIGHT + ROW_GAP))
        for index, column in enumerate(sorted(columns))
        for row, node in enumerate(columns[column])
    }
    edges = tuple(PlacedEdge(s, t, _curve(placed[s], placed[t])) for s, t in lineage.edges)
    width = max((p.x for p in placed.values()), default=0) + NODE_WIDTH + MARGIN
    height = max((p.y for p in placed.values()), default=0) + NODE_HEIGHT + MARGIN
    return GraphLayout(width, height, tuple(placed.values()), edges)


def _curve(source: PlacedNode, target: PlacedNode) -> str:
    x1, y1 = source.x + NODE_WIDTH, source.y + NODE_HEIGHT // 2
    x2, y2 = target.x, target.y + NODE_HEIGHT // 2
    if x2 <= x1:  # same column (a curated table feeding another): loop out to the right and back
        x2, bend = target.x + NODE_WIDTH, NODE_WIDTH // 3
        return f"M{x1},{y1} C{x1 + bend},{y1} {x2 + bend},{y2} {x2},{y2}"
    middle = (x1 + x2) // 2
    return f"M{x1},{y1} C{middle},{y1} {middle},{y2} {x2},{y2}"
