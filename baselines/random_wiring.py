"""Random wiring (Xie et al. 2019): WS, ER and BA graphs from networkx's generators, as cells.

A generator graph on M nodes becomes a cell on M + 1 nodes: generator node v is cell node v + 1, undirected edges
point from the lower to the higher index, and every generator node without predecessors is fed by the cell input
(node 0). Ops are drawn at random from the space. Defaults follow RandWire: WS(K=4, P=0.75), ER(P=0.2), BA(M=5);
on graphs too small for them (a tabular space) K and M are clamped below the node count.
"""

from __future__ import annotations

import random

import networkx as nx
from optuna.study import Study
from optuna.trial import FrozenTrial

from nasbench_shrink.samplers.cell_sampler import CellSampler
from search_spaces import Cell, random_ops

# networkx generator and RandWire's default parameters, per generator
_GENERATORS = {
    "ws": (lambda m, seed, k, p: nx.watts_strogatz_graph(m, k, p, seed=seed), {"k": 4, "p": 0.75}),
    "er": (lambda m, seed, p: nx.erdos_renyi_graph(m, p, seed=seed), {"p": 0.2}),
    "ba": (lambda m, seed, m_: nx.barabasi_albert_graph(m, m_, seed=seed), {"m_": 5}),
}
GENERATORS = tuple(_GENERATORS)


def generator_graph(kind: str, m: int, seed: int, **params) -> nx.Graph:
    if kind not in _GENERATORS:
        raise ValueError(f"unknown generator {kind!r}; expected one of {GENERATORS}")
    make, defaults = _GENERATORS[kind]
    params = {("m_" if k == "m" else k): v for k, v in params.items()}
    opts = {**defaults, **{k: v for k, v in params.items() if k in defaults}}
    # graphs smaller than RandWire's (a tabular space): clamp to what the size allows (WS: k < m, BA: m_ < m)
    if "k" in opts:
        opts["k"] = max(2, min(opts["k"], m - 1))
    if "m_" in opts:
        opts["m_"] = max(1, min(opts["m_"], m - 1))
    return make(m, seed, **opts)


def wiring_cell(kind: str, nodes: int, space: str, rng: random.Random, **params) -> Cell:
    """A cell with ``nodes`` nodes (``nodes - 1`` generator nodes) wired by the ``kind`` generator."""
    m = nodes - 1
    g = generator_graph(kind, m, seed=rng.randrange(2**31), **params)
    edges = {(min(u, v) + 1, max(u, v) + 1) for u, v in g.edges}
    has_pred = {j for _, j in edges}
    edges |= {(0, v) for v in range(1, nodes) if v not in has_pred}
    return Cell(space, nodes, sorted(edges), random_ops(space, nodes, rng))


class RandomWiringSampler(CellSampler):
    supports_multi_objective = True  # it never reads the values
    """A fresh random graph per trial."""

    def __init__(self, kind: str, space: str = "cnn", nodes: int = 16, seed: int = 0, **params) -> None:
        if kind not in GENERATORS:
            raise ValueError(f"unknown generator {kind!r}; expected one of {GENERATORS}")
        super().__init__(space, nodes, seed)
        self.kind = kind
        self.strategy_name = kind
        self.params = params

    def propose(self, study: Study, trial: FrozenTrial) -> Cell:
        return wiring_cell(self.kind, self.nodes, self.space, self.trial_rng(trial), **self.params)
