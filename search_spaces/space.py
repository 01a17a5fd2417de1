"""Constructors over the shared cell space: the complete DAG, seeded op assignments, edge enumeration."""

from __future__ import annotations

import random
from typing import Sequence

from search_spaces.cell import INPUT_OP, SPACE_OPS, Cell, CellError, Edge


def all_edges(nodes: int) -> list[Edge]:
    """Every forward edge ``(i, j)``, ``i < j``, in lexicographic order: ``N(N-1)/2`` of them."""
    return [(i, j) for i in range(nodes) for j in range(i + 1, nodes)]


def balanced_ops(space: str, nodes: int, seed: int) -> tuple[str, ...]:
    """Ops for nodes 1..N-1: the space's ops repeated evenly, then shuffled with ``seed``.

    The official code draws a balanced shuffle so that each op appears about equally often in the complete DAG.
    """
    if space not in SPACE_OPS:
        raise CellError(f"unknown space {space!r}; expected one of {sorted(SPACE_OPS)}")
    if nodes < 1:
        raise CellError(f"nodes must be >= 1, got {nodes}")
    choices = SPACE_OPS[space]
    body = [choices[k % len(choices)] for k in range(nodes - 1)]
    random.Random(f"ops:{space}:{nodes}:{seed}").shuffle(body)
    return (INPUT_OP, *body)


def random_ops(space: str, nodes: int, rng: random.Random) -> tuple[str, ...]:
    """Ops drawn independently and uniformly for nodes 1..N-1."""
    choices = SPACE_OPS[space]
    return (INPUT_OP, *(rng.choice(choices) for _ in range(nodes - 1)))


def complete_cell(space: str, nodes: int, seed: int = 0, ops: Sequence[str] | None = None) -> Cell:
    """The complete DAG on ``nodes`` nodes (AutoShrink's start), with a seeded balanced op assignment."""
    return Cell(space, nodes, all_edges(nodes), ops if ops is not None else balanced_ops(space, nodes, seed))


def shrink_space(cell: Cell) -> list[tuple[Edge, Cell]]:
    """Paper Eq. 4: all one-edge removals of the (pruned) cell, as ``(removed_edge, candidate)`` pairs."""
    return cell.shrink_space()
