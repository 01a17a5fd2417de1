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
from nasbench_shrink.plan import Abandoned, Context, Unit, open_plan, work
from nasbench_shrink.search import SearchSpec, check_budget, is_finished, open_storage, run_worker
from nasbench_shrink.trial_batch import finished_counts, trials_by_name
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
    lease_s: float = 60.0  # a unit whose worker stopped renewing for this long is taken over (not a setting)

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


# ------------------------------------------------------------------------------------------ units of the plan
def _spec_of(payload: dict[str, Any], ctx: Context) -> CompareSpec:
    """The unit's comparison, with the cache and data folder this worker reaches them under."""
    spec = CompareSpec(**payload["compare"])
    spec.cache = ctx.cache or spec.cache
    spec.data_dir = ctx.data_dir or spec.data_dir
    return spec


_AUTO: dict[tuple, float] = {}


def auto_budget(spec: CompareSpec, setters: list[str]) -> float:
    """The automatic budget: the largest cost one of the budget-setting strategies' runs needed (read once per
    process: those runs are finished before anything asks)."""
    key = (spec.storage, spec.benchmark, tuple(setters), tuple(spec.seeds), spec.budget_kind)
    if key not in _AUTO:
        names = [study_name(spec.benchmark, s, seed) for s in setters for seed in spec.seeds]
        found = trials_by_name(open_storage(spec.storage, heartbeat=None), names)
        _AUTO[key] = max(charged(found[n])[spec.budget_kind] for n in names)
    return _AUTO[key]


def _budget_of(payload: dict[str, Any], spec: CompareSpec) -> float | None:
    return payload["budget"] if payload["budget"] is not None or not payload["setters"] else \
        auto_budget(spec, payload["setters"])


def search_unit(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Plan unit: one (strategy, seed) search. A unit taken over from a worker that died replays its study from
    the start, answered by the evaluation cache, so the run is the one an uninterrupted worker makes."""
    spec = _spec_of(payload, ctx)
    run = _run_spec(spec, payload["strategy"], payload["seed"], None if payload["phase"] == 0 else
                    _budget_of(payload, spec))
    if payload["attempt"] > 1:
        _discard_interrupted(run)
    study = run_worker(run, ctx.threads, watch_parent=ctx.watch_parent)
    if not (run.limit.spent(study.get_trials(deepcopy=False)) or is_finished(study)):
        raise Abandoned(f"{run.study_name} stopped before its end")
    return {"study": run.study_name}


def _discard_interrupted(run: SearchSpec) -> None:
    """Delete a study left by a dead worker when it holds an unfinished or failed trial (its numbering would
    differ from an uninterrupted run's); its finished evaluations come back from the cache."""
    storage = open_storage(run.storage, heartbeat=None)
    trials = trials_by_name(storage, [run.study_name])[run.study_name]
    if any(t.state in (TrialState.RUNNING, TrialState.WAITING, TrialState.FAIL) for t in trials):
        optuna.delete_study(study_name=run.study_name, storage=storage)


def final_unit(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Plan unit: the final evaluation of one run's best cell within the budget."""
    spec = _spec_of(payload, ctx)
    one = CompareSpec(**{**vars(spec), "strategies": [payload["strategy"]], "seeds": [payload["seed"]]})
    bench = get_benchmark(spec.benchmark)
    rows = summarize_runs(collect_trials(one, _budget_of(payload, spec), bench.metric, regret=False), one,
                          bench.metric)
    return _final_job(spec.benchmark, rows["best_cell"].iloc[0], payload["seed"], spec.cache, spec.data_dir,
                      ctx.threads)


def plan_units(spec: CompareSpec, setters: list[str], budget: float | None) -> list[Unit]:
    """The comparison as plan units: budget setters (phase 0), the others (1), final evaluations (2)."""
    first = setters if budget is None else []
    base = {"compare": {**vars(spec)}, "budget": budget, "setters": first}
    units = []
    for phase, group in ((0, first), (1, [s for s in spec.strategies if s not in first])):
        units += [Unit(phase, "nasbench_shrink.compare:search_unit",
                       {**base, "phase": phase, "strategy": s, "seed": seed}, f"{s} seed {seed}")
                  for s in group for seed in spec.seeds]
    if spec.final:
        units += [Unit(2, "nasbench_shrink.compare:final_unit", {**base, "phase": 2, "strategy": s, "seed": seed},
                       f"final {s} seed {seed}") for s in spec.strategies for seed in spec.seeds]
    return units


def run_compare(spec: CompareSpec, on_progress: Callable[[dict[str, dict]], None] | None = None,
                results_dir: Path = Path("results")) -> Path:
    """Run (or continue) the comparison; writes trials.csv, summary.csv, the figures and report.md to ``out``.

    The work is a plan in the study storage's database: this command's local workers and any
    ``nasbench-shrink worker`` started on other machines share it.
    """
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
                       "resolved_budget": spec.budget, "started": datetime.now().isoformat(timespec="seconds"),
                       "run_id": f"compare:{out.resolve().name}:{time.time_ns()}"}
    spec.storage, spec.cache = state["storage"], state["cache"]
    run_id = state.setdefault("run_id", f"compare:{out.resolve().name}")
    (out / SETTINGS_FILE).write_text(json.dumps(state, indent=2))
    open_storage(spec.storage)  # fail early, with one line, on a bad storage URL
    plan = open_plan(spec.storage)
    plan.create_run(run_id, "compare", spec.settings(), plan_units(spec, setters, spec.budget), lease_s=spec.lease_s)

    cores = os.cpu_count() or 1
    workers = spec.workers or cores
    threads = max(1, cores // workers)
    t0 = time.perf_counter()
    tick = None if on_progress is None else (lambda: on_progress(progress_snapshot(spec)))
    ctx = Context(threads=threads, data_dir=spec.data_dir, watch_parent=True)
    with WorkerPool(workers) as pool:
        pool.run([(work, ([spec.storage], ctx, run_id))] * workers, on_tick=tick, tick_s=2.0)
    units = plan.check_done(run_id)
    phases = {"searches_and_finals": round(time.perf_counter() - t0, 2)}
    budget = spec.budget if spec.budget is not None else auto_budget(spec, setters)
    state["resolved_budget"] = budget
    mark = time.perf_counter()
    trials = collect_trials(spec, budget, bench.metric)
    summary = summarize_runs(trials, spec, bench.metric)
    phases["collect"] = round(time.perf_counter() - mark, 2)
    if spec.final:
        finals = {(u["payload"]["strategy"], u["payload"]["seed"]): u["result"] for u in units
                  if u["work"].endswith(":final_unit")}
        keys = list(zip(summary["strategy"], summary["seed"].astype(int)))
        summary[f"final_test_{bench.metric}"] = [finals[k][bench.metric] for k in keys]
        summary["final_macs"] = [finals[k]["macs"] for k in keys]
        summary["final_params"] = [finals[k]["params"] for k in keys]
    trials.to_csv(out / "trials.csv", index=False)
    summary.to_csv(out / "summary.csv", index=False)
    state["wall_s"] = round(time.perf_counter() - t0, 1)
    state["phases_s"] = phases
    state["budget_kind"] = spec.budget_kind
    state["benchmark_lam"] = bench.lam
    (out / SETTINGS_FILE).write_text(json.dumps(state, indent=2))
    from nasbench_shrink.report import write_report

    write_report(out)
    return out


def study_name(benchmark: str, strategy: str, seed: int) -> str:
    return f"{benchmark}/{strategy}/seed{seed}"


def progress_snapshot(spec: CompareSpec) -> dict[str, dict]:
    """Per strategy: runs started, finished evaluations over its runs and the best score, from one grouped query
    (cheap enough to poll while hundreds of studies grow)."""
    counts = finished_counts(open_storage(spec.storage, heartbeat=None))
    snap: dict[str, dict] = {}
    for strategy in spec.strategies:
        found = [counts[n] for n in (study_name(spec.benchmark, strategy, s) for s in spec.seeds) if n in counts]
        bests = [b for _, b in found if b is not None]
        snap[strategy] = {"strategy": strategy, "runs": len(found), "seeds": len(spec.seeds),
                          "evals": sum(n for n, _ in found), "best": max(bests, default=None)}
    return snap


def _landscape(spec: CompareSpec):
    """The table's landscape when the benchmark is a table (regret is exact there), else None."""
    from nasbench_shrink.tabular import TableLookup

    bench = get_benchmark(spec.benchmark)
    if not isinstance(bench.evaluator, TableLookup):
        return None
    return landscape_of(bench.evaluator.table, bench)


def collect_trials(spec: CompareSpec, budget: float | None, metric: str = "accuracy", regret: bool = True
                   ) -> pd.DataFrame:
    """One row per finished trial of every run, with running cost totals and the within-budget flag (and the
    simple regret on a table, unless ``regret`` is off)."""
    rows = []
    limit = Budget(spec.budget_kind, budget)
    land = _landscape(spec) if regret else None
    names = [study_name(spec.benchmark, s, seed) for s in spec.strategies for seed in spec.seeds]
    found = trials_by_name(open_storage(spec.storage, heartbeat=None), names)
    for strategy in spec.strategies:
        for seed in spec.seeds:
            totals = running_totals(found[study_name(spec.benchmark, strategy, seed)], limit)
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
