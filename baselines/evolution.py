"""Regularized (aging) evolution, Real et al. 2019, over the cell space.

The population is the ``population`` most recent finished trials (by trial number) of the study, so it lives in the
storage and a restarted process continues it. Until the population is full, trials are random sub-DAGs. Then each
trial takes a tournament of ``sample`` members, mutates the best one (flip one edge of the complete DAG, or change
one node's op) and the oldest member leaves the population as the child joins.

In a two-objective study "best" is non-dominated sorting's: the contender that the fewest members of the whole
population dominate (its Pareto rank in NSGA-II's counting), ties going to the earlier trial as in one objective;
the rest (the aging population, the tournament, the mutation) is unchanged.
"""

from __future__ import annotations

from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial

from nasbench_shrink import trial_attrs as ta
from nasbench_shrink.samplers.cell_sampler import CellSampler, Proposal
from search_spaces import SPACE_OPS, Cell, all_edges, random_ops

PARENT = "parent_trial"
MUTATION = "mutation"


class RegularizedEvolutionSampler(CellSampler):
    strategy_name = "evolution"
    supports_multi_objective = True  # selection by domination count (see the module's note)

    def __init__(
        self, space: str = "cnn", nodes: int = 8, seed: int = 0, population: int = 20, sample: int = 5
    ) -> None:
        super().__init__(space, nodes, seed)
        if not 1 <= sample <= population:
            raise ValueError("need 1 <= sample <= population")
        self.population = population
        self.sample = sample

    def current_population(self, study: Study, before: int | None = None) -> list[FrozenTrial]:
        done = [
            t
            for t in self.finished(study)
            # a trial of a proposal (not parsed: the population is read at every trial)
            if t.system_attrs.get(ta.PROPOSAL) is not None and (before is None or t.number < before)
        ]
        return sorted(done, key=lambda t: t.number)[-self.population :]

    def mutate(self, cell: Cell, rng) -> tuple[Cell, str]:
        for _ in range(50):  # re-draw mutations that leave the architecture unchanged (dead edges)
            if rng.random() < 0.5:
                e = rng.choice(all_edges(self.nodes))
                edges = set(cell.edges) ^ {e}
                child, how = Cell(self.space, self.nodes, sorted(edges), cell.ops), f"flip edge {e}"
            else:
                k = rng.randrange(1, self.nodes)
                ops = list(cell.ops)
                ops[k] = rng.choice([o for o in SPACE_OPS[self.space] if o != ops[k]])
                child, how = Cell(self.space, self.nodes, cell.edges, ops), f"op {k} -> {ops[k]}"
            if child.key != cell.key:
                return child, how
        return child, how

    def propose(self, study: Study, trial: FrozenTrial) -> Proposal:
        rng = self.trial_rng(trial)
        pop = self.current_population(study, before=trial.number)
        if len(pop) < self.population:
            edges = [e for e in all_edges(self.nodes) if rng.random() < 0.5]
            return Proposal(
                Cell(self.space, self.nodes, edges, random_ops(self.space, self.nodes, rng)), {MUTATION: "random"}
            )
        contenders = rng.sample(pop, self.sample)
        if len(study.directions) > 1:
            signs = [-1.0 if d == StudyDirection.MAXIMIZE else 1.0 for d in study.directions]
            parent = min(contenders, key=lambda t: (dominated_by(t, pop, signs), t.number))
        else:
            parent = max(contenders, key=lambda t: (t.value, -t.number))
        child, how = self.mutate(self.proposed_cell(parent), rng)
        return Proposal(child, {PARENT: parent.number, MUTATION: how})


def dominated_by(trial: FrozenTrial, population: list[FrozenTrial], signs: list[float]) -> int:
    """How many members of ``population`` dominate ``trial`` (``signs``: -1 for a maximised objective)."""
    mine = [s * v for s, v in zip(signs, trial.values)]
    count = 0
    for other in population:
        theirs = [s * v for s, v in zip(signs, other.values)]
        if all(a <= b for a, b in zip(theirs, mine)) and theirs != mine:
            count += 1
    return count
