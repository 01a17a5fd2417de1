"""Every architecture of a small cell space, once: what a tabular benchmark trains in advance.

An architecture is a canonical key (``Cell.key``): an edge subset pruned to what node 0 reaches, with the ops of
its active nodes; ops of inactive nodes and isomorphic relabellings change nothing. Counted this way the CNN space
has 130 architectures at N = 4, 2,553 at N = 5 and 104,009 at N = 6.

Example:
    >>> from search_spaces.enumeration import enumerate_cells
    >>> len(enumerate_cells("cnn", 3))
    14
"""

from __future__ import annotations

from itertools import product

from search_spaces.cell import INPUT_OP, SPACE_OPS, Cell
from search_spaces.space import all_edges

__all__ = ["enumerate_cells"]


def enumerate_cells(space: str, nodes: int) -> list[Cell]:
    """One representative cell per architecture of the ``nodes``-node ``space``, in a fixed order (edge subsets
    in binary order, then op assignments of the active nodes); the representative is the first one met."""
    edges = all_edges(nodes)
    choices = SPACE_OPS[space]
    found: dict[str, Cell] = {}
    for mask in range(2 ** len(edges)):
        chosen = tuple(e for k, e in enumerate(edges) if mask >> k & 1)
        base = Cell(space, nodes, chosen, (INPUT_OP,) + (choices[0],) * (nodes - 1))
        if base.pruned().edges != chosen:
            continue  # its pruned edge set is enumerated on its own
        active = base.active_nodes[1:]
        for combo in product(choices, repeat=len(active)):
            ops = list(base.ops)
            for n, op in zip(active, combo):
                ops[n] = op
            cell = Cell(space, nodes, chosen, ops)
            found.setdefault(cell.key, cell)
    return list(found.values())
