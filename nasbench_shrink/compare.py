"""``nasbench-shrink compare``: every strategy × seed under one budget, final evaluation, CSVs and report.

Each (strategy, seed) is a study ``<benchmark>/<strategy>/seed<k>`` in one storage; all runs share one evaluation
cache. Charging and the within-budget rule are ``nasbench_shrink.budget``'s. With no budget given, the strategies
that declare ``sets_auto_budget`` (AutoShrink) run first and the others get the largest cost one of their seeds
needed ("auto"). Options (``--nodes``, ``--k``) reach every strategy that declares them.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import optuna
import pandas as pd
from optuna.trial import TrialState

from search_spaces import Cell
from nasbench_shrink.benchmarks import get_benchmark
from nasbench_shrink.budget import Budget, charged, running_totals
from nasbench_shrink.errors import UserError
from nasbench_shrink.landscape import landscape_of, regret_column
from nasbench_shrink.registry import resolve
from nasbench_shrink.search import SearchSpec, check_budget, open_storage, search_job
from nasbench_shrink.workers import WorkerPool

DEFAULT_STRATEGIES = ("autoshrink", "complete", "random", "ws", "er", "ba", "evolution", "tpe", "optuna-random")
SETTINGS_FILE = "compare.json"


@dataclass
class CompareSpec:
    benchmark: str = "digits"
    strategies: list[str] = field(default_factory=lambda: list(DEFAULT_STRATEGIES))
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    budget_kind: str = "flops"
    budget: float | None = None  # None: auto (AutoShrink's largest cost)
    workers: int = 0  # 0: number of cores
    out: str | None = None
    storage: str | None = None
    cache: str | None = None
    data_dir: str | None = None
    final: bool = True
    nodes: int | None = None
    k: int | None = None

    def settings(self) -> dict[str, Any]:
        """What must match for a rerun to continue the same comparison."""
        return {"benchmark": self.benchmark, "strategies": self.strategies, "seeds": self.seeds,
                "budget_kind": self.budget_kind, "budget": self.budget, "final": self.final,
                "nodes": self.nodes, "k": self.k}


def resolve_out(spec: CompareSpec, results: Path = Path("results")) -> Path:
    """``--out``, else the latest ``results/<benchmark>-*`` run with the same settings, else a new timestamped one."""
    if spec.out:
        return Path(spec.out)
    if results.is_dir():
        for d in sorted(results.glob(f"{spec.benchmark}-*"), reverse=True):
            f = d / SETTINGS_FILE
            try:
                if f.is_file() and json.loads(f.read_text()).get("settings") == spec.settings():
                    return d
            except (OSError, json.JSONDecodeError):
                continue
    return results / f"{spec.benchmark}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _run_spec(spec: CompareSpec, strategy: str, seed: int, budget: float | None) -> SearchSpec:
    """The search of one (strategy, seed): the compare options the strategy declares, the run's budget."""
    takes = resolve(strategy).options_for(None, nodes=spec.nodes, k=spec.k)
    return SearchSpec(strategy=strategy, benchmark=spec.benchmark, seed=seed, storage=spec.storage or "",
                      nodes=takes.get("nodes"), k=takes.get("k"),
                      budget_kind=None if budget is None else spec.budget_kind, budget=budget,
                      data_dir=spec.data_dir, cache=spec.cache)


def _final_job(bench_name: str, cell_json: str, seed: int, cache: str | None, data_dir: str | None,
               threads: int) -> dict:
    from nasbench_shrink.cache import open_cache
    from nasbench_shrink.evaluation import LIVE, evaluate

    os.environ["NASBENCH_SHRINK_THREADS"] = str(threads)
    bench = get_benchmark(bench_name)
    seed = (bench.evaluator or LIVE).seed_for(seed, None)  # a table answers with one of its recorded seeds
    rec = evaluate(Cell.from_json(cell_json), bench, seed=seed, cache=open_cache(cache) if cache else None,
                   data_dir=data_dir, stage="final")
    return rec.summary()


def _load_settings(out: Path) -> dict | None:
    f = out / SETTINGS_FILE
    if not f.is_file():
        return None
    try:
        return json.loads(f.read_text())
    except (OSError, json.JSONDecodeError):
        raise UserError(f"{f} is not readable JSON; move that folder aside or pass another --out") from None


def run_compare(spec: CompareSpec, on_progress: Callable[[dict[str, dict]], None] | None = None,
                results_dir: Path = Path("results")) -> Path:
    """Run (or continue) the comparison; writes trials.csv, summary.csv, the figures and report.md to ``out``."""
    bench = get_benchmark(spec.benchmark)
    if not spec.strategies:
        raise UserError("no strategy to compare; pass --strategies all or a comma-separated list")
    if len(set(spec.seeds)) != len(spec.seeds) or not spec.seeds:
        raise UserError("--seeds must be distinct integers, e.g. 0,1,2")
    for s in spec.strategies:
        check_budget(SearchSpec(strategy=s, benchmark=spec.benchmark, budget=1.0))
    setters = [s for s in spec.strategies if resolve(s).sets_auto_budget]
    if spec.budget is None and not setters:
        raise UserError("an automatic budget needs a strategy that sets it (autoshrink) among the strategies; pass "
                        "--budget-evals, --budget-flops or --budget-seconds")
    out = resolve_out(spec, results_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create output folder {out} ({exc.strerror}); pass a writable --out") from None
    # absolute paths, so the dashboard and reports work from any folder
    spec.storage = spec.storage or f"sqlite:///{(out / 'studies.db').resolve()}"
    spec.cache = spec.cache or f"sqlite:///{(out / 'cache.db').resolve()}"
    stored = _load_settings(out)
    if stored is not None and stored.get("settings") != spec.settings():
        raise UserError(f"{out} holds a comparison with other settings ({stored.get('settings')}); pass another "
                        "--out or the same settings")
    state = stored or {"settings": spec.settings(), "storage": spec.storage, "cache": spec.cache,
                       "resolved_budget": spec.budget, "started": datetime.now().isoformat(timespec="seconds")}
    spec.storage, spec.cache = state["storage"], state["cache"]
    (out / SETTINGS_FILE).write_text(json.dumps(state, indent=2))
    open_storage(spec.storage)  # fail early, with one line, on a bad storage URL

    cores = os.cpu_count() or 1
    workers = spec.workers or cores
    threads = max(1, cores // workers)
    t0 = time.perf_counter()
    tick = None if on_progress is None else (lambda: on_progress(progress_snapshot(spec)))
    with WorkerPool(workers) as pool:
        budget = state.get("resolved_budget")
        first = setters if budget is None else []
        rest = [s for s in spec.strategies if s not in first]

        def run_all(strategies: list[str], budget_: float | None) -> None:
            pool.run([(search_job, (_run_spec(spec, s, seed, budget_), threads))
                      for s in strategies for seed in spec.seeds], on_tick=tick, tick_s=2.0)

        run_all(first, None)
        if budget is None:
            budget = max(_charged_total(spec, s, seed) for s in first for seed in spec.seeds)
            state["resolved_budget"] = budget
            (out / SETTINGS_FILE).write_text(json.dumps(state, indent=2))
        run_all(rest, budget)
        trials = collect_trials(spec, budget, bench.metric)
        summary = summarize_runs(trials, spec, bench.metric)
        if spec.final:
            keys = list(zip(summary["strategy"], summary["seed"].astype(int)))
            results = pool.run([(_final_job, (spec.benchmark, cell, int(seed), spec.cache, spec.data_dir, threads))
                                for cell, seed in zip(summary["best_cell"], summary["seed"])])
            finals = dict(zip(keys, results))
            summary[f"final_test_{bench.metric}"] = [finals[k][bench.metric] for k in keys]
            summary["final_macs"] = [finals[k]["macs"] for k in keys]
            summary["final_params"] = [finals[k]["params"] for k in keys]
    trials.to_csv(out / "trials.csv", index=False)
    summary.to_csv(out / "summary.csv", index=False)
    state["wall_s"] = round(time.perf_counter() - t0, 1)
    state["budget_kind"] = spec.budget_kind
    state["benchmark_lam"] = bench.lam
    (out / SETTINGS_FILE).write_text(json.dumps(state, indent=2))
    from nasbench_shrink.report import write_report

    write_report(out)
    return out


def study_name(benchmark: str, strategy: str, seed: int) -> str:
    return f"{benchmark}/{strategy}/seed{seed}"


def _charged_total(spec: CompareSpec, strategy: str, seed: int) -> float:
    study = optuna.load_study(study_name=study_name(spec.benchmark, strategy, seed), storage=spec.storage)
    return charged(study.get_trials(deepcopy=False))[spec.budget_kind]


def progress_snapshot(spec: CompareSpec) -> dict[str, dict]:
    """Per-run evaluations, charged cost and best score, read from the storage."""
    snap: dict[str, dict] = {}
    storage = open_storage(spec.storage, heartbeat=None)
    names = {s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)}
    for strategy in spec.strategies:
        for seed in spec.seeds:
            name = study_name(spec.benchmark, strategy, seed)
            if name not in names:
                continue
            trials = storage.get_all_trials(storage.get_study_id_from_name(name), deepcopy=False,
                                            states=(TrialState.COMPLETE,))
            cost = charged(trials)
            snap[name] = {"strategy": strategy, "seed": seed, "evals": int(cost["evals"]),
                          "cost_s": cost["seconds"], "flops": cost["flops"],
                          "best": max((t.value for t in trials), default=None)}
    return snap


def _landscape(spec: CompareSpec):
    """The table's landscape when the benchmark is a table (regret is exact there), else None."""
    from nasbench_shrink.tabular import TableLookup

    bench = get_benchmark(spec.benchmark)
    if not isinstance(bench.evaluator, TableLookup):
        return None
    return landscape_of(bench.evaluator.table, bench)


def collect_trials(spec: CompareSpec, budget: float | None, metric: str = "accuracy") -> pd.DataFrame:
    """One row per finished trial of every run, with running cost totals and the within-budget flag."""
    rows = []
    limit = Budget(spec.budget_kind, budget)
    land = _landscape(spec)
    for strategy in spec.strategies:
        for seed in spec.seeds:
            study = optuna.load_study(study_name=study_name(spec.benchmark, strategy, seed), storage=spec.storage)
            totals = running_totals(study.get_trials(deepcopy=False), limit)
            if land is not None:  # a table knows the optimum: simple regret after every evaluation
                regrets = regret_column([r["trial"].user_attrs.get("arch_key") for r in totals],
                                        [r["trial"].value for r in totals], land)
            for i, r in enumerate(totals):
                t = r["trial"]
                a = t.user_attrs
                rows.append({
                    "strategy": strategy, "seed": seed, "trial": t.number, "eval_index": r["eval_index"],
                    "cost_s": a.get("cost_s"), "train_flops": a.get("train_flops"), "cum_cost_s": r["cum_cost_s"],
                    "cum_train_flops": r["cum_train_flops"], "score": t.value, metric: a.get(metric),
                    "macs": a.get("macs"), "params": a.get("params"), "edges": a.get("edges"),
                    "cache_hit": a.get("cache_hit"), "arch_key": a.get("arch_key"), "step": a.get("step"),
                    "within_budget": r["within_budget"],
                    "cell": json.dumps(a.get("cell")),
                    **({"regret": regrets[i]} if land is not None else {}),
                })
    return pd.DataFrame(rows)


def summarize_runs(trials: pd.DataFrame, spec: CompareSpec, metric: str = "accuracy") -> pd.DataFrame:
    rows = []
    for (strategy, seed), g in trials[trials["within_budget"]].groupby(["strategy", "seed"], sort=False):
        best = g.loc[g["score"].idxmax()]
        extra = {"final_regret": g["regret"].iloc[-1]} if "regret" in g.columns else {}
        rows.append({"strategy": strategy, "seed": int(seed), "evaluations": len(g),
                     "search_cost_s": g["cost_s"].sum(), "search_flops": g["train_flops"].sum(),
                     "cache_hits": int(g["cache_hit"].sum()), "best_score": best["score"],
                     f"best_{metric}": best[metric], "best_params": best["params"], "best_macs": best["macs"], "best_edges": best["edges"],
                     "best_arch_key": best["arch_key"], "best_cell": best["cell"], **extra})
    return pd.DataFrame(rows)
