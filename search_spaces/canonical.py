"""Canonical architecture keys.

Two cells are the same architecture exactly when their pruned, op-labelled DAGs are isomorphic (a relabelled
node order or a dead edge changes nothing in the network). The key is an exact canonical form:

1. node colours from networkx's Weisfeiler–Lehman subgraph hashes (op label, both edge directions), which are
   isomorphism-invariant;
2. every node ordering that sorts nodes by colour, trying all orders inside a colour class (classes are almost
   always singletons or sets of interchangeable nodes, so this is tiny);
3. the lexicographically smallest adjacency encoding over those orderings, hashed.

The WL hash alone could collide for non-isomorphic graphs; step 2–3 makes the key exact.

When three WL rounds leave too many orderings (a chain, a star, a large random graph of Table 4), the cell takes
a second exact route, chosen by an isomorphism-invariant test so that isomorphic cells always take the same one:
colour refinement to a fixed point, then individualisation–refinement (branch on one member of the first
non-singleton class, refine again), with twins (same op, same in- and out-neighbours: swapping them is an
automorphism) tried once per class. The smallest encoding over the leaves is the form. Keys of every cell that
the first route handles are unchanged, so stored tables and caches keep their keys.
"""

from __future__ import annotations

import hashlib
import itertools
import warnings
from functools import lru_cache
from math import factorial, prod
from typing import Protocol

import networkx as nx


class CellLike(Protocol):
    """What keying needs of a cell (``search_spaces.cell.Cell`` is one): its op labels and its pruned form. A
    protocol, not an import: ``cell.py`` imports this module for ``Cell.key``, so this one names no cell class."""

    edges: tuple[tuple[int, int], ...]
    ops: tuple[str, ...]

    def pruned(self) -> CellLike: ...


_MAX_ORDERINGS = 200_000


def to_graph(cell: CellLike) -> nx.DiGraph:
    """The pruned cell as an op-labelled ``networkx.DiGraph`` over its active nodes."""
    return _graph(cell.pruned().edges, cell.ops)


def _graph(pruned_edges: tuple, ops: tuple) -> nx.DiGraph:
    g = nx.DiGraph()
    for n in sorted({0} | {j for _, j in pruned_edges}):
        g.add_node(n, op=ops[n])
    g.add_edges_from(pruned_edges)
    return g


def _colours(g: nx.DiGraph) -> dict[int, str]:
    # label each node with its op and depth-free structure; WL over the undirected view would lose direction,
    # so we hash in-neighbourhoods and out-neighbourhoods separately and combine them.
    with warnings.catch_warnings():  # networkx 3.5 notes that directed hashes changed; we pin >= 3.5
        warnings.simplefilter("ignore", UserWarning)
        ins = nx.weisfeiler_lehman_subgraph_hashes(g, node_attr="op", iterations=3)
        outs = nx.weisfeiler_lehman_subgraph_hashes(g.reverse(copy=True), node_attr="op", iterations=3)
    return {n: f"{g.nodes[n]['op']}|{ins[n][-1] if ins[n] else ''}|{outs[n][-1] if outs[n] else ''}" for n in g}


def _encode(g: nx.DiGraph, order: tuple[int, ...]) -> str:
    pos = {n: k for k, n in enumerate(order)}
    ops = ",".join(g.nodes[n]["op"] for n in order)
    edges = sorted((pos[u], pos[v]) for u, v in g.edges)
    return ops + ";" + ",".join(f"{u}-{v}" for u, v in edges)


def canonical_form(cell: CellLike) -> str:
    """An exact canonical string of the pruned op-labelled DAG (see module docstring)."""
    edges = cell.pruned().edges
    active = {0} | {j for _, j in edges}
    # an inactive node's op changes nothing: blank it, so every such variant shares one cache entry
    ops = tuple(op if n in active else "" for n, op in enumerate(cell.ops))
    return _canonical_form_cached(cell.space, edges, ops, cell.nodes)


@lru_cache(maxsize=65536)
def _canonical_form_cached(space: str, edges: tuple, ops: tuple, nodes: int) -> str:
    g = _graph(edges, ops)
    if g.number_of_edges() == 0:
        return f"{space}:input;"
    colour = _colours(g)
    classes: dict[str, list[int]] = {}
    for n in g:
        classes.setdefault(colour[n], []).append(n)
    ordered = [classes[c] for c in sorted(classes)]
    n_orders = prod(factorial(len(c)) for c in ordered)
    if n_orders > _MAX_ORDERINGS:  # > 8 nodes that three WL rounds cannot tell apart: the second route
        return f"{space}:{_refined_form(g)}"
    best = None
    for perms in itertools.product(*(itertools.permutations(c) for c in ordered)):
        code = _encode(g, tuple(itertools.chain.from_iterable(perms)))
        if best is None or code < best:
            best = code
    return f"{space}:{best}"


def _refine(g: nx.DiGraph, colour: dict[int, str]) -> dict[int, str]:
    """Colour refinement to a fixed point: a node's new colour is its colour with the sorted colours of its in-
    and out-neighbours, hashed (isomorphism-invariant), until the number of classes stops growing."""
    while True:
        new = {
            n: hashlib.sha1(
                "|".join(
                    (
                        colour[n],
                        ",".join(sorted(colour[u] for u in g.predecessors(n))),
                        ",".join(sorted(colour[v] for v in g.successors(n))),
                    )
                ).encode()
            ).hexdigest()[:16]
            for n in g
        }
        if len(set(new.values())) == len(set(colour.values())):
            return colour
        colour = new


def _refined_form(g: nx.DiGraph) -> str:
    """The smallest encoding over an individualisation–refinement search (see the module docstring)."""
    twins = {n: (g.nodes[n]["op"], frozenset(g.predecessors(n)), frozenset(g.successors(n))) for n in g}
    best: list[str] = []

    def search(colour: dict[int, str], depth: int) -> None:
        colour = _refine(g, colour)
        classes: dict[str, list[int]] = {}
        for n in g:
            classes.setdefault(colour[n], []).append(n)
        open_classes = [c for c in sorted(classes) if len(classes[c]) > 1]
        if not open_classes:
            code = _encode(g, tuple(sorted(g, key=lambda n: colour[n])))
            if not best or code < best[0]:
                best[:] = [code]
            return
        members = classes[open_classes[0]]
        tried: set = set()
        for n in sorted(members):
            if twins[n] in tried:  # a twin of a node tried already: the same leaves up to an automorphism
                continue
            tried.add(twins[n])
            search({**colour, n: f"*{depth}|{colour[n]}"}, depth + 1)

    search({n: g.nodes[n]["op"] for n in g}, 0)
    return best[0]


def arch_key(cell: CellLike) -> str:
    """Short stable key of a cell's architecture: sha1 of its canonical form (first 20 hex digits)."""
    return hashlib.sha1(canonical_form(cell).encode()).hexdigest()[:20]


def same_architecture(a: CellLike, b: CellLike) -> bool:
    """Independent check used by tests: isomorphism of the pruned op-labelled DAGs."""
    if a.space != b.space:
        return False
    return nx.is_isomorphic(to_graph(a), to_graph(b), node_match=lambda x, y: x["op"] == y["op"])
