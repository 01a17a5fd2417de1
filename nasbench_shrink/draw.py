"""Drawing a cell as a layered DAG (networkx + matplotlib), for ``show --png`` and the compare report."""

from __future__ import annotations

from pathlib import Path

import networkx as nx

from search_spaces import Cell, to_graph

OP_COLOURS = {"input": "#d9d9d9", "conv1x1": "#8ecae6", "sep3x3": "#ffb703", "relu": "#90be6d",
              "sigmoid": "#f94144", "tanh": "#577590", "identity": "#f9c74f"}


def draw_cell(cell: Cell, ax=None, title: str | None = None) -> None:
    import matplotlib.pyplot as plt

    g = to_graph(cell)
    ax = ax or plt.gca()
    depth = {}
    for n in nx.topological_sort(g):
        preds = list(g.predecessors(n))
        depth[n] = 0 if not preds else 1 + max(depth[p] for p in preds)
    for n, d in depth.items():
        g.nodes[n]["layer"] = d
    pos = nx.multipartite_layout(g, subset_key="layer") if g.number_of_nodes() > 1 else {0: (0.0, 0.0)}
    leaves = set(cell.leaves)
    colours = [OP_COLOURS.get(g.nodes[n]["op"], "#cccccc") for n in g]
    edgecolors = ["black" if n in leaves else "#666666" for n in g]
    nx.draw_networkx(g, pos, ax=ax, node_color=colours, edgecolors=edgecolors, linewidths=[2.5 if n in leaves else 1
                     for n in g], labels={n: f"{n}\n{g.nodes[n]['op']}" for n in g}, font_size=7, node_size=1100,
                     arrowsize=12)
    ax.set_title(title or f"{len(cell.active_edges)} active edges; bold = cell output", fontsize=9)
    ax.axis("off")


def save_cell_png(cell: Cell, path: str | Path, title: str | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * cell.nodes), 3.6))
    draw_cell(cell, ax, title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
