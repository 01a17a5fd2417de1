"""The Optuna objective: params → ``Cell`` → cached proxy evaluation → score (direction maximize)."""

from __future__ import annotations

from pathlib import Path

import optuna

from nasbench_shrink.benchmarks import Benchmark, get_benchmark
from nasbench_shrink.cache import EvaluationCache, open_cache
from nasbench_shrink.cell_sampler import PROPOSAL_ATTR, SKIP_ATTR, trial_system_attrs
from nasbench_shrink.evaluation import LIVE, evaluate
from nasbench_shrink.params import suggest_cell



class CellObjective:
    """Evaluate the trial's cell on ``benchmark`` and record everything a comparison needs as user attrs."""

    def __init__(self, benchmark: str | Benchmark, nodes: int | None = None, seed: int = 0,
                 cache: EvaluationCache | str | None = None, data_dir: str | Path | None = None,
                 lam: float | None = None, device: str | None = None, threads: int | None = None) -> None:
        self.bench = get_benchmark(benchmark) if isinstance(benchmark, str) else benchmark
        self.nodes = nodes or self.bench.nodes
        self.seed = seed
        self._cache = cache
        self.data_dir = data_dir
        self.lam = lam
        self.device = device
        self.threads = threads

    @property
    def cache(self) -> EvaluationCache | None:
        if isinstance(self._cache, str):  # opened lazily, in the worker process that uses it
            self._cache = open_cache(self._cache)
        return self._cache

    def __call__(self, trial: optuna.Trial) -> float:
        sys_attrs = trial_system_attrs(trial)
        if sys_attrs.get(SKIP_ATTR):
            raise optuna.TrialPruned("the strategy has nothing left to evaluate")
        cell = suggest_cell(trial, self.bench.space, self.nodes)
        seed = (self.bench.evaluator or LIVE).seed_for(self.seed, trial.number)
        rec = evaluate(cell, self.bench, seed=seed, cache=self.cache, data_dir=self.data_dir,
                       device=self.device, threads=self.threads, lam=self.lam)
        attrs = {
            "score": rec.score, self.bench.metric: rec.perf, "macs": rec.macs, "params": rec.params,
            "cost_s": rec.cost_s, "train_flops": rec.train_flops, "cache_hit": rec.cache_hit, "arch_key": rec.key,
            "edges": len(cell.active_edges), "cell": cell.to_dict(), "epochs": rec.epochs,
            "diverged": rec.diverged, "benchmark": self.bench.name, "eval_seed": seed,
            f"test_{self.bench.metric}": rec.test_perf,
        }
        # strategy-specific attrs of the proposal (AutoShrink: step, removed_edge, parent_key, parent)
        attrs.update({k: v for k, v in sys_attrs.get(PROPOSAL_ATTR, {}).items() if k != "cell"})
        for k, v in attrs.items():
            trial.set_user_attr(k, v)
        return rec.score
