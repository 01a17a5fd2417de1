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
    nx.draw_networkx_nodes(g, pos, ax=ax, node_color=colours, edgecolors=edgecolors, node_size=1100,
                           linewidths=[2.5 if n in leaves else 1.0 for n in g])
    nx.draw_networkx_labels(g, pos, ax=ax, labels={n: f"{n}\n{g.nodes[n]['op']}" for n in g}, font_size=7)
    # edges that skip a layer are curved so that they do not hide behind the nodes they pass
    short = [(u, v) for u, v in g.edges if depth[v] - depth[u] == 1]
    long = [(u, v) for u, v in g.edges if depth[v] - depth[u] > 1]
    nx.draw_networkx_edges(g, pos, ax=ax, edgelist=short, node_size=1100, arrowsize=12)
    nx.draw_networkx_edges(g, pos, ax=ax, edgelist=long, node_size=1100, arrowsize=12,
                           connectionstyle="arc3,rad=0.35", edge_color="#555555")
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
