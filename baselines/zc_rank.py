"""Zero-cost ranking: evaluate random cells in the order a zero-cost proxy ranks them.

A pool of ``pool`` random sub-DAGs with random ops (drawn as ``random`` draws them, seeded by the run seed and the
pool's index) is scored by the proxy, and trial n evaluates the pool's cells from the best proxy value down; when a
pool is used up the next one is drawn. The first trial of each pool carries the cost of scoring its cells that the
run had not scored before (``proxy_cost_s``, ``proxy_flops``: charged by ``nasbench_shrink.budget``).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from optuna.study import Study
from optuna.trial import FrozenTrial

from nasbench_shrink.samplers.cell_sampler import CellSampler, Proposal
from search_spaces import Cell, all_edges, random_ops

# cell -> (proxy value, seconds, FLOPs) of scoring it
Oracle = Callable[[Cell], tuple[float, float, float]]


class ZeroCostRankSampler(CellSampler):
    strategy_name = "zc-rank"
    supports_multi_objective = True  # it never reads the values

    def __init__(
        self,
        space: str = "cnn",
        nodes: int = 5,
        seed: int = 0,
        oracle: Oracle | None = None,
        pool: int = 100,
        proxy: str = "proxy",
    ) -> None:
        super().__init__(space, nodes, seed)
        if oracle is None or pool < 1:
            raise ValueError("zero-cost ranking needs a proxy oracle and a pool of at least one cell")
        self.oracle, self.pool, self.proxy = oracle, pool, proxy
        self._pools: list[list[tuple[Cell, float, float]]] = []  # ranked cells, with the pool's new cost

    def _draw(self, index: int) -> list[tuple[Cell, float, float]]:
        rng = random.Random(f"zc-rank:{self.seed}:pool{index}")
        cells: dict[str, Cell] = {}
        for _ in range(self.pool):
            edges = [e for e in all_edges(self.nodes) if rng.random() < 0.5]
            c = Cell(self.space, self.nodes, edges, random_ops(self.space, self.nodes, rng)).pruned()
            cells.setdefault(c.key, c)
        seen = {c.key for p in self._pools for c, _, _ in p}
        scored = {k: self.oracle(c) for k, c in cells.items()}
        cost_s = sum(scored[k][1] for k in cells if k not in seen)
        flops = sum(scored[k][2] for k in cells if k not in seen)
        ranked = sorted(cells.values(), key=lambda c: (-scored[c.key][0], c.key))
        return [(c, cost_s if i == 0 else 0.0, flops if i == 0 else 0.0) for i, c in enumerate(ranked)]

    def propose(self, study: Study, trial: FrozenTrial) -> Proposal:
        n, p = trial.number, 0
        while True:
            while len(self._pools) <= p:
                self._pools.append(self._draw(len(self._pools)))
            if n < len(self._pools[p]):
                cell, cost_s, flops = self._pools[p][n]
                attrs = {"pool": p, "rank": n, self.proxy: self.oracle(cell)[0]}
                if cost_s or flops:
                    attrs.update(proxy_cost_s=cost_s, proxy_flops=flops)
                return Proposal(cell, attrs)
            n -= len(self._pools[p])
            p += 1
