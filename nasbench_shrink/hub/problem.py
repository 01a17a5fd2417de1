"""A shipped (or any) table as an OptunaHub problem, answered with the command line's rules.

The search space is the project's cell encoding (``e_<i>_<j>`` ∈ {0, 1} per possible edge, ``op_<k>`` per node),
so any Optuna sampler works on it and ``AutoShrinkSampler(space=problem.space, nodes=problem.nodes, k=problem.k)``
agrees with it. ``evaluate`` maps the parameters to a cell; dead edges and isomorphic duplicates fall on the same
architecture key, as in the CLI. The answer is the proxy record of the seed the table assigns to (run seed,
architecture), so a repeated architecture answers the same record, never a fresh draw, and no held-out test value
is ever returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna
import optunahub

from nasbench_shrink import trial_attrs as ta
from nasbench_shrink.catalogue import get_benchmark
from nasbench_shrink.errors import UserError
from nasbench_shrink.evaluation.evaluator import evaluate
from nasbench_shrink.objectives import OBJECTIVES, parse_objectives
from nasbench_shrink.objectives.pareto import hv_regret
from nasbench_shrink.samplers.cell_sampler import trial_system_attrs
from nasbench_shrink.samplers.params import params_to_cell, search_space
from nasbench_shrink.tables.fronts import front_normaliser

__all__ = ["OBJECTIVES", "TableProblem"]

MAXIMIZE, MINIMIZE = optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE


class TableProblem(optunahub.benchmarks.BaseProblem):
    """A table benchmark as an OptunaHub problem.

    ``objectives="score"``: one objective, the λ-weighted score (maximise); ``"metric,macs"`` or
    ``"metric,params"``: the validation metric (maximise accuracy, minimise perplexity) and the search network's
    MACs or parameter count (minimise). ``seed`` is the run seed that picks each architecture's recorded training
    seed. The ground truth of two objectives is the table's own (its metadata's exact fronts and reference rule).
    """

    def __init__(self, benchmark: str = "cifar10-small-table", objectives: str = "score", seed: int = 0) -> None:
        self.bench = get_benchmark(benchmark)
        ev = self.bench.evaluator
        self.landscape = ev.landscape(self.bench) if ev is not None and ev.instant else None
        if self.landscape is None:
            raise UserError(
                f"{benchmark} is neither a table nor a surrogate with a known reference; pass one, e.g. "
                "cifar10-small-table or cifar10-small-n8"
            )
        self.kind = parse_objectives(objectives)
        self.objectives, self.seed = self.kind.name, seed
        self.space, self.nodes = self.landscape.space, self.landscape.nodes
        self.k = self.bench.k  # AutoShrink's K on this benchmark

    @property
    def search_space(self) -> dict[str, optuna.distributions.BaseDistribution]:
        return search_space(self.space, self.nodes)

    @property
    def directions(self) -> list[optuna.study.StudyDirection]:
        directions = self.kind.directions(self.bench.kind.higher_is_better)
        return [MAXIMIZE if d == "maximize" else MINIMIZE for d in directions]

    def __call__(self, trial: optuna.Trial) -> float | Sequence[float]:
        if trial_system_attrs(trial).get(ta.SKIP):  # a cell sampler with nothing to propose (e.g. finished)
            raise optuna.TrialPruned()
        return super().__call__(trial)

    def evaluate(self, params: dict[str, Any]) -> float | Sequence[float]:
        cell = params_to_cell(self.space, self.nodes, params)
        rec = evaluate(cell, self.bench, seed=self.bench.evaluator.seed_for(self.seed, cell.key))
        return self.kind.values(rec.score, rec.perf, rec.macs, rec.params, self.bench.kind.higher_is_better)

    def arch_key(self, params: dict[str, Any]) -> str:
        """The architecture (canonical key) that ``params`` stand for."""
        return params_to_cell(self.space, self.nodes, params).key

    # -- ground truth -----------------------------------------------------------------------------------------
    @property
    def known_optimum(self) -> float:
        """The best true score (seed-mean) in the table: the single-objective optimum (on a surrogate: the true
        score of its best known cell, not an optimum)."""
        return self.landscape.best_score

    def regret(self, params: dict[str, Any]) -> float:
        """Simple regret of the architecture ``params`` stand for: the optimum's (a surrogate: best known cell's)
        true score minus its own."""
        cell = params_to_cell(self.space, self.nodes, params)
        self.landscape.include([cell])
        return self.landscape.best_score - self.landscape.true_score[cell.key]

    @property
    def _front(self) -> dict[str, Any]:
        fronts = self.landscape.fronts
        if not fronts:
            raise UserError(f"{self.bench.name} knows no true front (a surrogate); use a table for front figures")
        return fronts[self.kind.cost or "macs"]

    @property
    def pareto_front(self) -> list[tuple[float, float]]:
        """The exact front of (seed-mean validation metric, cost) over every architecture of the table, sorted
        by cost (the table's metadata; cost: MACs for ``score``)."""
        return [(m, c) for m, c in self._front["points"]]

    @property
    def reference_point(self) -> tuple[float, float]:
        """The hypervolume reference point in the objectives' own units: the table's rule (``tables.fronts``),
        10 % of each range beyond the worst seed-mean metric and the largest cost."""
        f = self._front
        (best_m, best_c), (worst_m, worst_c) = f["best"], f["worst"]
        r = f["reference"]
        return worst_m + (r[0] - 1.0) * (worst_m - best_m), worst_c + (r[1] - 1.0) * (worst_c - best_c)

    def hypervolume_regret(self, values: Sequence[Sequence[float]]) -> float:
        """The true front's hypervolume minus that of the points ``values`` (the problem's objective values), in
        the table's normalised axes."""
        f = self._front
        axes = front_normaliser(f, self.bench.kind.higher_is_better)
        return hv_regret(axes(values), axes(f["points"]), f["reference"])
