"""Features of a cell for a surrogate, computed from its pruned, op-labelled DAG only through isomorphism-invariant
quantities (counts, degrees, depths, path counts), so isomorphic cells get identical features by construction.

Exact costs (MACs, params) are inputs, not outputs: the caller passes them (they are computed, never predicted).
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

from search_spaces import Cell
from search_spaces.canonical import to_graph

__all__ = ["cell_features", "feature_names"]

_OPS = ("conv1x1", "sep3x3")
_MAX_DEPTH = 8


def feature_names() -> list[str]:
    names = ["log10_macs", "log10_params", "active_nodes", "active_edges", "leaves", "depth", "log2_paths",
             "input_out_degree", "mean_in_degree", "max_in_degree"]
    for op in _OPS:
        names += [f"n_{op}", f"leaves_{op}", f"in_edges_{op}", f"mean_depth_{op}"]
    names += [f"nodes_at_depth_{d}" for d in range(1, _MAX_DEPTH)]
    names += [f"edges_{a}_{b}" for a in ("input", *_OPS) for b in _OPS]
    return names


def cell_features(cell: Cell, macs: int, params: int) -> np.ndarray:
    """The feature vector of ``cell`` (see ``feature_names``) given its exact MACs and parameter count."""
    g = to_graph(cell)
    ops = nx.get_node_attributes(g, "op")
    depth = {0: 0}
    for n in nx.topological_sort(g):  # longest path from the input
        for m in g.successors(n):
            depth[m] = max(depth.get(m, 0), depth[n] + 1)
    paths = {0: 1}
    for n in nx.topological_sort(g):
        for m in g.successors(n):
            paths[m] = paths.get(m, 0) + paths[n]
    leaves = [n for n in g if g.out_degree(n) == 0 and n != 0]
    inner = [n for n in g if n != 0]
    in_deg = [g.in_degree(n) for n in inner] or [0]
    f = [math.log10(max(macs, 1)), math.log10(max(params, 1)), len(inner), g.number_of_edges(), len(leaves),
         max(depth.values()), math.log2(max(1, sum(paths[n] for n in leaves))), g.out_degree(0),
         float(np.mean(in_deg)), max(in_deg)]
    for op in _OPS:
        members = [n for n in inner if ops[n] == op]
        f += [len(members), sum(ops[n] == op for n in leaves), sum(g.in_degree(n) for n in members),
              float(np.mean([depth[n] for n in members])) if members else 0.0]
    f += [sum(depth[n] == d for n in inner) for d in range(1, _MAX_DEPTH)]
    for a in ("input", *_OPS):
        for b in _OPS:
            f.append(sum(ops[u] == a and ops[v] == b for u, v in g.edges))
    return np.asarray(f, dtype=float)
