"""The cell: a DAG over nodes ``0..N-1`` with one operation per node.

A ``Cell`` is an immutable value object. Node 0 is the cell input (op ``"input"``); every other node carries
one operation of its space. Edges ``(i, j)`` always point forward (``i < j``), so every cell is a DAG by
construction and a node index is also a topological position.

Pruning follows the official AutoShrink code (``optimize_mask``): only edges whose source is reachable from
node 0 survive; nodes left without inputs are dropped. The block output is the set of *leaves* (active nodes
with no active out-edge). A cell whose node 0 has no out-edge is the identity.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from search_spaces.canonical import arch_key

INPUT_OP = "input"
CNN_OPS: tuple[str, ...] = ("conv1x1", "sep3x3")
RNN_OPS: tuple[str, ...] = ("relu", "sigmoid", "tanh", "identity")
SPACE_OPS: dict[str, tuple[str, ...]] = {"cnn": CNN_OPS, "rnn": RNN_OPS}

Edge = tuple[int, int]


class CellError(ValueError):
    """A cell description that is not a valid cell (bad edge, unknown op, malformed JSON...)."""


@dataclass(frozen=True)
class Cell:
    """An immutable DAG cell: ``nodes`` nodes, forward ``edges``, one op per node (node 0 is ``input``)."""

    space: str
    nodes: int
    edges: tuple[Edge, ...]
    ops: tuple[str, ...]
    _succ: tuple[tuple[int, ...], ...] = field(init=False, repr=False, compare=False, hash=False)
    _key: str | None = field(init=False, repr=False, compare=False, hash=False)

    def __init__(self, space: str, nodes: int, edges: Iterable[Sequence[int]], ops: Sequence[str]) -> None:
        if space not in SPACE_OPS:
            raise CellError(f"unknown space {space!r}; expected one of {sorted(SPACE_OPS)}")
        if isinstance(nodes, bool) or not isinstance(nodes, int) or nodes < 1:
            raise CellError(f"nodes must be a positive integer, got {nodes!r}")
        norm: list[Edge] = []
        seen: set[Edge] = set()
        for e in edges:
            if (
                not isinstance(e, (list, tuple))
                or len(e) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in e)
            ):
                raise CellError(f"edge {e!r} is not a pair of node indices")
            i, j = int(e[0]), int(e[1])
            if i == j:
                raise CellError(f"edge ({i}, {j}) is a self-loop")
            if not (0 <= i < nodes and 0 <= j < nodes):
                raise CellError(f"edge ({i}, {j}) is out of range for {nodes} nodes (0..{nodes - 1})")
            if i > j:
                raise CellError(f"edge ({i}, {j}) points backward; edges must go from lower to higher index")
            if (i, j) in seen:
                raise CellError(f"edge ({i}, {j}) appears twice")
            seen.add((i, j))
            norm.append((i, j))
        ops = tuple(ops)
        if len(ops) != nodes:
            raise CellError(f"expected {nodes} ops (one per node), got {len(ops)}")
        if ops[0] != INPUT_OP:
            raise CellError(f"node 0 must have op {INPUT_OP!r}, got {ops[0]!r}")
        allowed = SPACE_OPS[space]
        for k, op in enumerate(ops[1:], start=1):
            if op not in allowed:
                raise CellError(f"unknown op {op!r} at node {k}; {space} ops are {list(allowed)}")
        self._set(space, nodes, tuple(sorted(norm)), ops)

    def _set(self, space: str, nodes: int, edges: tuple[Edge, ...], ops: tuple[str, ...]) -> None:
        object.__setattr__(self, "space", space)
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "ops", ops)
        succ: list[list[int]] = [[] for _ in range(nodes)]
        for i, j in edges:
            succ[i].append(j)
        object.__setattr__(self, "_succ", tuple(tuple(s) for s in succ))
        object.__setattr__(self, "_key", None)

    def _with_edges(self, edges: tuple[Edge, ...]) -> Cell:
        """This cell with a sorted subset of its edges: valid by construction, so not validated again (a search
        derives thousands of cells this way)."""
        cell = object.__new__(Cell)
        cell._set(self.space, self.nodes, edges, self.ops)
        return cell

    # ------------------------------------------------------------------ structure
    def reachable(self) -> frozenset[int]:
        """Nodes reachable from node 0 (node 0 included)."""
        seen = {0}
        for i in range(self.nodes):  # index order is a topological order
            if i in seen:
                seen.update(self._succ[i])
        return frozenset(seen)

    def pruned(self) -> Cell:
        """The cell with only the edges whose source is reachable from node 0 (official ``optimize_mask``)."""
        live = self.reachable()
        kept = tuple(e for e in self.edges if e[0] in live)
        if kept == self.edges:
            return self
        return self._with_edges(kept)

    @property
    def active_nodes(self) -> tuple[int, ...]:
        """Node 0 plus every node that receives an input after pruning."""
        return tuple(sorted(self.reachable()))

    @property
    def active_edges(self) -> tuple[Edge, ...]:
        return self.pruned().edges

    @property
    def leaves(self) -> tuple[int, ...]:
        """Active nodes with no active out-edge: the block's outputs (``(0,)`` for the identity cell)."""
        p = self.pruned()
        return tuple(n for n in p.active_nodes if not p._succ[n])

    @property
    def is_identity(self) -> bool:
        return not self._succ[0]

    def predecessors(self, node: int) -> tuple[int, ...]:
        return tuple(i for i, j in self.edges if j == node)

    # ------------------------------------------------------------------ edits
    def without_edge(self, edge: Sequence[int]) -> Cell:
        e = (int(edge[0]), int(edge[1]))
        if e not in self.edges:
            raise CellError(f"edge {e} is not in the cell")
        return self._with_edges(tuple(x for x in self.edges if x != e))

    def shrink_space(self) -> list[tuple[Edge, Cell]]:
        """The topology shrink space (paper Eq. 4): every one-edge removal of the pruned cell."""
        p = self.pruned()
        return [(e, p.without_edge(e)) for e in p.edges]

    # ------------------------------------------------------------------ identity and I/O
    @property
    def key(self) -> str:
        """Canonical architecture key; equal exactly when the pruned op-labelled DAGs are isomorphic (computed once
        per cell: searches and table lookups ask for it on every evaluation)."""
        if self._key is None:
            object.__setattr__(self, "_key", arch_key(self))
        return self._key

    def to_dict(self) -> dict[str, Any]:
        return {
            "space": self.space,
            "nodes": self.nodes,
            "edges": [list(e) for e in self.edges],
            "ops": list(self.ops),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Cell:
        if not isinstance(data, Mapping):
            raise CellError("a cell must be a JSON object with keys space, nodes, edges, ops")
        missing = [k for k in ("nodes", "edges", "ops") if k not in data]
        if missing:
            raise CellError(f"cell JSON lacks key(s) {missing}; expected space, nodes, edges, ops")
        extra = sorted(set(data) - {"space", "nodes", "edges", "ops"})
        if extra:
            raise CellError(f"cell JSON has unknown key(s) {extra}; expected space, nodes, edges, ops")
        if not isinstance(data["edges"], list) or not isinstance(data["ops"], list):
            raise CellError("cell JSON 'edges' must be a list of [i, j] pairs and 'ops' a list of op names")
        return cls(data.get("space", "cnn"), data["nodes"], data["edges"], data["ops"])

    @classmethod
    def from_json(cls, text: str) -> Cell:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CellError(f"cell is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc
        return cls.from_dict(data)

    def __str__(self) -> str:
        p = self.pruned()
        lines = [f"{self.space} cell, {self.nodes} nodes, {len(p.edges)} active edges (of {len(self.edges)})"]
        for n in p.active_nodes:
            preds = p.predecessors(n)
            src = ", ".join(str(i) for i in preds) if preds else "cell input"
            leaf = "  -> output" if n in p.leaves else ""
            lines.append(f"  node {n}: {self.ops[n]:<9} <- {src}{leaf}")
        return "\n".join(lines)
