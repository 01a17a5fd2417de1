"""A plug-in strategy in one file: hill climbing over cells (flip one edge or one op of the best cell so far).

Compare it with every built-in strategy on the shipped table (lookups, no training):

    nasbench-shrink compare --strategies all,examples/hill_climb.py:factory

Any ``optuna.samplers.BaseSampler`` works as a strategy; a ``CellSampler`` proposes whole cells and inherits
storage-derived state, seeded per-trial randomness and a fallback for parameters it does not own.
"""

from __future__ import annotations

from nasbench_shrink.samplers import CellSampler, Proposal
from search_spaces import SPACE_OPS, Cell, all_edges, random_ops


class HillClimbSampler(CellSampler):
    strategy_name = "hill-climb"

    def propose(self, study, trial) -> Proposal:
        rng = self.trial_rng(trial)
        done = [t for t in self.finished(study) if self.proposed_cell(t) is not None and t.number < trial.number]
        if not done:  # start from a random cell
            edges = [e for e in all_edges(self.nodes) if rng.random() < 0.5]
            return Proposal(
                Cell(self.space, self.nodes, edges, random_ops(self.space, self.nodes, rng)), {"move": "start"}
            )
        best = self.proposed_cell(max(done, key=lambda t: (t.value, -t.number)))
        if rng.random() < 0.7:
            edge = rng.choice(all_edges(self.nodes))
            return Proposal(
                Cell(self.space, self.nodes, sorted(set(best.edges) ^ {edge}), best.ops), {"move": f"flip edge {edge}"}
            )
        node = rng.randrange(1, self.nodes)
        ops = list(best.ops)
        ops[node] = rng.choice([o for o in SPACE_OPS[self.space] if o != ops[node]])
        return Proposal(Cell(self.space, self.nodes, best.edges, ops), {"move": f"op {node} -> {ops[node]}"})


def factory(benchmark, seed: int = 0, nodes: int | None = None, **options):
    """Hill climbing: flip one edge or op of the best cell so far"""
    return HillClimbSampler(benchmark.space, nodes or benchmark.nodes, seed)
