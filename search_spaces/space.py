"""Constructors over the shared cell space: the complete DAG, seeded op assignments, edge enumeration."""

from __future__ import annotations

import random
from collections.abc import Sequence

from search_spaces.cell import INPUT_OP, SPACE_OPS, Cell, CellError, Edge


def all_edges(nodes: int) -> list[Edge]:
    """Every forward edge ``(i, j)``, ``i < j``, in lexicographic order: ``N(N-1)/2`` of them."""
    return [(i, j) for i in range(nodes) for j in range(i + 1, nodes)]


def balanced_ops(space: str, nodes: int, seed: int) -> tuple[str, ...]:
    """The official CNN op assignment: the space's ops repeated evenly over all ``nodes`` slots, shuffled with
    ``seed``, then node 0's slot discarded (it is the input). For N = 8 and two ops this gives 4 + 3 or 3 + 4,
    each half the time."""
    choices = _choices(space, nodes)
    slots = [choices[k % len(choices)] for k in range(nodes)]
    random.Random(f"ops:{space}:{nodes}:{seed}").shuffle(slots)
    return (INPUT_OP, *slots[1:])


def uniform_ops(space: str, nodes: int, seed: int) -> tuple[str, ...]:
    """The official RNN op assignment: an independent uniform choice per node (node 0's discarded)."""
    choices = _choices(space, nodes)
    rng = random.Random(f"ops:{space}:{nodes}:{seed}")
    return (INPUT_OP, *[rng.choice(choices) for _ in range(nodes)][1:])


# How each space assigns ops to the complete DAG when a search starts (official code: ops_gen.seed_group_ops for
# CNN, utils.random_choose_ops for RNN). Ops never change after that.
INITIAL_OPS = {"cnn": balanced_ops, "rnn": uniform_ops}


def initial_ops(space: str, nodes: int, seed: int) -> tuple[str, ...]:
    """The seeded op assignment of the complete DAG in ``space`` (see ``INITIAL_OPS``)."""
    _choices(space, nodes)
    return INITIAL_OPS[space](space, nodes, seed)


def _choices(space: str, nodes: int) -> tuple[str, ...]:
    if space not in SPACE_OPS:
        raise CellError(f"unknown space {space!r}; expected one of {sorted(SPACE_OPS)}")
    if nodes < 1:
        raise CellError(f"nodes must be >= 1, got {nodes}")
    return SPACE_OPS[space]


def random_ops(space: str, nodes: int, rng: random.Random) -> tuple[str, ...]:
    """Ops drawn independently and uniformly for nodes 1..N-1 (the baselines' random cells)."""
    choices = SPACE_OPS[space]
    return (INPUT_OP, *(rng.choice(choices) for _ in range(nodes - 1)))


def complete_cell(space: str, nodes: int, seed: int = 0, ops: Sequence[str] | None = None) -> Cell:
    """The complete DAG on ``nodes`` nodes (AutoShrink's start), with the space's seeded initial op assignment."""
    return Cell(space, nodes, all_edges(nodes), ops if ops is not None else initial_ops(space, nodes, seed))


def shrink_space(cell: Cell) -> list[tuple[Edge, Cell]]:
    """Paper Eq. 4: all one-edge removals of the (pruned) cell, as ``(removed_edge, candidate)`` pairs."""
    return cell.shrink_space()
