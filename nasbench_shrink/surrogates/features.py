"""Features of a cell for a surrogate, computed from its pruned, op-labelled DAG only through isomorphism-invariant
quantities (counts, degrees, depths, path counts), so isomorphic cells get identical features by construction.

Exact costs (MACs, params) are inputs, not outputs: the caller passes them (they are computed, never predicted).
"""

from __future__ import annotations

import math

import numpy as np

from search_spaces import Cell

__all__ = ["GRAPH_NODES", "cell_features", "feature_names", "graph_encoding"]

_OPS = ("conv1x1", "sep3x3")
_MAX_DEPTH = 8
GRAPH_NODES = 8  # graph encodings are padded to this many nodes (the N = 8 space)
_NODE_OPS = ("input", *_OPS)


def feature_names() -> list[str]:
    names = [
        "log10_macs",
        "log10_params",
        "active_nodes",
        "active_edges",
        "leaves",
        "depth",
        "log2_paths",
        "input_out_degree",
        "mean_in_degree",
        "max_in_degree",
    ]
    for op in _OPS:
        names += [f"n_{op}", f"leaves_{op}", f"in_edges_{op}", f"mean_depth_{op}"]
    names += [f"nodes_at_depth_{d}" for d in range(1, _MAX_DEPTH)]
    names += [f"edges_{a}_{b}" for a in ("input", *_OPS) for b in _OPS]
    return names


def cell_features(cell: Cell, macs: int, params: int) -> np.ndarray:
    """The feature vector of ``cell`` (see ``feature_names``) given its exact MACs and parameter count.

    Plain Python over the pruned edge list (node indices are a topological order), not a graph library: a
    surrogate query computes it for every new cell, and this is a few times faster than building a graph."""
    edges = cell.pruned().edges
    ops = cell.ops
    inner = sorted({j for _, j in edges})
    succ: dict[int, list[int]] = {n: [] for n in (0, *inner)}
    in_deg = dict.fromkeys(inner, 0)
    for u, v in edges:
        succ[u].append(v)
        in_deg[v] += 1
    depth = dict.fromkeys((0, *inner), 0)  # longest path from the input
    paths = dict.fromkeys((0, *inner), 0)
    paths[0] = 1
    for n in (0, *inner):
        for m in succ[n]:
            depth[m] = max(depth[m], depth[n] + 1)
            paths[m] += paths[n]
    leaves = [n for n in inner if not succ[n]]
    degrees = [in_deg[n] for n in inner] or [0]
    f = [
        math.log10(max(macs, 1)),
        math.log10(max(params, 1)),
        len(inner),
        len(edges),
        len(leaves),
        max(depth.values()),
        math.log2(max(1, sum(paths[n] for n in leaves))),
        len(succ[0]),
        sum(degrees) / len(degrees),
        max(degrees),
    ]
    for op in _OPS:
        members = [n for n in inner if ops[n] == op]
        f += [
            len(members),
            sum(ops[n] == op for n in leaves),
            sum(in_deg[n] for n in members),
            sum(depth[n] for n in members) / len(members) if members else 0.0,
        ]
    at_depth = [0] * (len(cell.ops) + 1)
    for n in inner:
        at_depth[depth[n]] += 1
    f += at_depth[1:_MAX_DEPTH] + [0] * max(0, _MAX_DEPTH - len(at_depth))
    kinds = [(ops[u], ops[v]) for u, v in edges]
    for a in _NODE_OPS:
        for b in _OPS:
            f.append(kinds.count((a, b)))
    return np.asarray(f, dtype=float)


def graph_encoding(cell: Cell, nodes: int = GRAPH_NODES) -> np.ndarray:
    """The pruned cell as a padded adjacency matrix and op one-hots, nodes in the order of its canonical form, so
    isomorphic cells get the same array to the bit (a graph network's sums then run in the same order too).
    Flattened: ``nodes²`` adjacency entries (row = source), then ``nodes × 3`` op one-hots."""
    from search_spaces.canonical import canonical_form

    body = canonical_form(cell).split(":", 1)[1]
    ops_text, _, edges_text = body.partition(";")
    ops = ops_text.split(",") if ops_text else ["input"]
    adj = np.zeros((nodes, nodes))
    for pair in filter(None, edges_text.split(",")):
        u, v = (int(x) for x in pair.split("-"))
        adj[u, v] = 1.0
    onehot = np.zeros((nodes, len(_NODE_OPS)))
    for i, op in enumerate(ops):
        onehot[i, _NODE_OPS.index(op)] = 1.0
    return np.concatenate([adj.ravel(), onehot.ravel()])
