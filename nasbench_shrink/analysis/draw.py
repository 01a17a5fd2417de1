"""Drawing a cell as a layered DAG, for ``show --png`` and the compare report.

Nodes sit in columns by their longest-path depth from the input (graphviz ``dot``'s layering; networkx gives the
topological order), ordered inside a column by the mean height of their predecessors. An edge between adjacent
columns is straight and can cross no node; an edge that skips columns is a quadratic Bézier curve, bent just
enough that it keeps clear of every node it does not join (``cell_layout`` chooses the bend; a test checks the
clearance on every cell of a space).
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np

from search_spaces import Cell, to_graph

__all__ = ["NODE_RADIUS", "OP_COLOURS", "cell_layout", "draw_cell", "op_legend", "save_cell_png"]

OP_COLOURS = {
    "input": "#d9d9d9",
    "conv1x1": "#8ecae6",
    "sep3x3": "#ffb703",
    "relu": "#90be6d",
    "sigmoid": "#f94144",
    "tanh": "#577590",
    "identity": "#f9c74f",
}
NODE_RADIUS = 0.3
COLUMN_GAP, ROW_GAP = 1.5, 1.1
CLEARANCE = NODE_RADIUS + 0.1  # how far a curve keeps from the centre of a node it does not join
BENDS = (0.0, 0.15, -0.15, 0.3, -0.3, 0.45, -0.45, 0.6, -0.6, 0.8, -0.8, 1.0, -1.0)
_SAMPLES = 60


def _layers(g: nx.DiGraph) -> dict[int, int]:
    depth: dict[int, int] = {}
    for n in nx.topological_sort(g):
        preds = list(g.predecessors(n))
        depth[n] = 0 if not preds else 1 + max(depth[p] for p in preds)
    return depth


def _positions(g: nx.DiGraph, depth: dict[int, int]) -> dict[int, np.ndarray]:
    pos: dict[int, np.ndarray] = {}
    for layer in range(max(depth.values()) + 1):
        nodes = [n for n in g if depth[n] == layer]
        # highest mean predecessor first (top): fewer crossings, as in dot's barycentre ordering
        nodes.sort(key=lambda n: (-np.mean([pos[p][1] for p in g.predecessors(n)]) if layer else 0.0, n))
        for i, n in enumerate(nodes):
            pos[n] = np.array([layer * COLUMN_GAP, ((len(nodes) - 1) / 2 - i) * ROW_GAP])
    return pos


def _curve(a: np.ndarray, b: np.ndarray, bend: float) -> np.ndarray:
    """Points of the quadratic Bézier from ``a`` to ``b`` whose control point is pushed ``bend`` chord lengths
    sideways from the chord's middle (0: straight)."""
    chord = b - a
    control = (a + b) / 2 + bend * np.array([-chord[1], chord[0]])
    t = np.linspace(0.0, 1.0, _SAMPLES)[:, None]
    return (1 - t) ** 2 * a + 2 * (1 - t) * t * control + t**2 * b


def _distance(points: np.ndarray, centre: np.ndarray) -> float:
    return float(np.min(np.linalg.norm(points - centre, axis=1)))


def _overlap(a: np.ndarray, b: np.ndarray, within: float = 0.12) -> float:
    """The share of ``a``'s inner points (away from its ends) that lie within ``within`` of path ``b``."""
    inner = a[_SAMPLES // 6 : -_SAMPLES // 6]
    d = np.linalg.norm(inner[:, None, :] - b[None, :, :], axis=2).min(axis=1)
    return float(np.mean(d < within))


def cell_layout(cell: Cell) -> tuple[dict[int, np.ndarray], dict[tuple[int, int], np.ndarray]]:
    """Node centres and, per edge, the points of its drawn path (centre to centre) for the pruned cell."""
    g = to_graph(cell)
    depth = _layers(g)
    pos = _positions(g, depth)
    paths: dict[tuple[int, int], np.ndarray] = {}
    for u, v in sorted(g.edges, key=lambda e: depth[e[1]] - depth[e[0]]):  # short edges first
        others = [pos[n] for n in g if n not in (u, v)]
        best, best_gap = None, -np.inf
        for bend in BENDS:
            pts = _curve(pos[u], pos[v], bend)
            gap = min((_distance(pts, c) for c in others), default=np.inf)
            # two paths may cross, but must not run along each other (they would read as one edge)
            # (seen from both: a short and a long curve of one bend leave a node along the same tangent)
            overlap = max((max(_overlap(pts, p), _overlap(p, pts)) for p in paths.values()), default=0.0)
            if gap >= CLEARANCE and overlap <= 0.1:
                best = pts
                break
            if gap - overlap > best_gap:
                best, best_gap = pts, gap - overlap
        paths[(u, v)] = best
    return pos, paths


def draw_cell(cell: Cell, ax=None, title: str | None = None) -> None:
    """Draw the pruned cell on ``ax``: ops as coloured nodes, the cell's outputs (its leaves) outlined in bold."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, FancyArrowPatch
    from matplotlib.path import Path as MplPath

    ax = ax or plt.gca()
    g = to_graph(cell)
    pos, paths = cell_layout(cell)
    leaves = set(cell.leaves)
    for (u, v), pts in paths.items():
        keep = (np.linalg.norm(pts - pos[u], axis=1) > NODE_RADIUS) & (
            np.linalg.norm(pts - pos[v], axis=1) > NODE_RADIUS + 0.02
        )
        ax.add_patch(
            FancyArrowPatch(
                path=MplPath(pts[keep]), arrowstyle="-|>", mutation_scale=11, lw=1.1, color="#444444", zorder=1
            )
        )
    for n in g:
        ax.add_patch(
            Circle(
                pos[n],
                NODE_RADIUS,
                facecolor=OP_COLOURS.get(g.nodes[n]["op"], "#cccccc"),
                edgecolor="black" if n in leaves else "#666666",
                lw=2.4 if n in leaves else 1.0,
                zorder=2,
            )
        )
        ax.text(*pos[n], str(n), ha="center", va="center", fontsize=10, fontweight="bold", zorder=3)
    every = np.vstack([*paths.values(), *pos.values()]) if paths else np.vstack(list(pos.values()))
    pad = NODE_RADIUS + 0.1
    ax.set_xlim(every[:, 0].min() - pad, every[:, 0].max() + pad)
    ax.set_ylim(every[:, 1].min() - pad, every[:, 1].max() + pad)
    ax.set_aspect("equal")
    ax.set_title(title or f"{len(cell.active_edges)} active edges; bold = cell output", fontsize=9)
    ax.axis("off")


def op_legend(fig, ops) -> None:
    """One legend for the figure: which colour is which op (node labels carry only the node's number, so they
    stay legible at any cell size)."""
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=OP_COLOURS.get(op, "#cccccc"), edgecolor="#666666", label=op)
        for op in sorted(set(ops) | {"input"}, key=lambda o: (o != "input", o))
    ]
    handles.append(Patch(facecolor="white", edgecolor="black", lw=2.4, label="cell output"))
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=9, frameon=False)


def save_cell_png(cell: Cell, path: str | Path, title: str | None = None) -> Path:
    from nasbench_shrink.analysis import style

    fig, ax = style.figure(max(4.0, 1.3 * cell.nodes), 3.9)
    draw_cell(cell, ax, title)
    op_legend(fig, cell.ops[1:])
    return style.save(fig, path, dpi=120)
