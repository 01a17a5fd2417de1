"""Random search: uniform random sub-DAGs of the complete DAG (each edge kept with probability 1/2), random ops."""

from __future__ import annotations

from optuna.study import Study
from optuna.trial import FrozenTrial

from nasbench_shrink.samplers.cell_sampler import CellSampler
from search_spaces import Cell, all_edges, random_ops


class RandomDAGSampler(CellSampler):
    strategy_name = "random"
    supports_multi_objective = True  # it never reads the values

    def propose(self, study: Study, trial: FrozenTrial) -> Cell:
        rng = self.trial_rng(trial)
        edges = [e for e in all_edges(self.nodes) if rng.random() < 0.5]
        return Cell(self.space, self.nodes, edges, random_ops(self.space, self.nodes, rng))
