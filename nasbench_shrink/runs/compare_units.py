"""The worker side of a comparison: the plan units a worker process runs (a strategy's runs at a group of seeds,
a final evaluation), and the rows a finished run leaves in the plan."""

from __future__ import annotations

import json
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from nasbench_shrink import trial_attrs as ta
from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.budget import (
    budget_of_seed,
    charged,
    cost_of,
    paired_budgets,
    running_totals,
)
from nasbench_shrink.errors import UserError
from nasbench_shrink.runs.clock import CLOCK_ATTRS
from nasbench_shrink.runs.compare_frames import bench_landscape, runs_frame, summarize_runs
from nasbench_shrink.runs.compare_spec import CompareSpec, run_spec, study_name
from nasbench_shrink.runs.search import SearchSpec, open_storage, run_ended, run_worker, trial_score
from nasbench_shrink.storage.trials import trials_by_name
from nasbench_shrink.tables.landscape import regret_column
from nasbench_shrink.work.plan import Abandoned, Context, open_plan
from search_spaces import Cell


def final_job(
    bench: Benchmark, cell_json: str, seed: int, cache: str | None, data_dir: str | None, threads: int
) -> dict:
    from nasbench_shrink.evaluation.cache import open_cache
    from nasbench_shrink.evaluation.evaluator import LIVE, evaluate

    cell = Cell.from_json(cell_json)
    seed = (bench.evaluator or LIVE).seed_for(seed, cell.key)  # a table: the row the search saw
    cached = open_cache(cache) if cache else None
    threads = bench.cpu_threads or threads  # a benchmark that fixes its thread count keeps it
    rec = evaluate(cell, bench, seed=seed, cache=cached, data_dir=data_dir, stage="final", threads=threads)
    return rec.summary()


# ------------------------------------------------------------------------------------------ units of the plan
def spec_of(payload: dict[str, Any], ctx: Context) -> CompareSpec:
    """The unit's comparison, with the cache and data folder this worker reaches them under (a unit's entry: its
    benchmark and strategies are resolved here, from the plan's payload)."""
    spec = CompareSpec(**payload["compare"])
    return spec.with_changes(cache=ctx.cache or spec.cache, data_dir=ctx.data_dir or spec.data_dir)


_AUTO: dict[tuple, dict[int, float]] = {}  # per process: (storage, run, setters, kind) → budgets


def auto_budget(spec: CompareSpec, setters: list[str], run_id: str) -> dict[int, float]:
    """The automatic (paired) budget: per seed, what the budget-setting strategies spent at that seed, from the
    results of their plan units (read once per process: those runs are finished before anything asks)."""
    key = (spec.storage, run_id, tuple(setters), spec.budget_kind)
    if key not in _AUTO:
        spent: dict[str, dict[int, float]] = {s: {} for s in setters}
        for u in open_plan(spec.storage).units(run_id, phase=0):
            for seed, run in (u["result"] or {}).get("runs", {}).items():
                spent[u["payload"]["strategy"]][int(seed)] = run["charged"][spec.budget_kind]
        missing = [(s, seed) for s in setters for seed in spec.seeds if seed not in spent[s]]
        if missing:
            raise UserError(
                f"the budget-setting run {missing[0][0]} seed {missing[0][1]} has no result; run the "
                "command again to finish it"
            )
        _AUTO[key] = paired_budgets(spent)
    return _AUTO[key]


def unit_budget(payload: dict[str, Any], spec: CompareSpec) -> float | dict[int, float] | None:
    """The unit's budget: the fixed one, or the paired budget of every seed."""
    return (
        payload["budget"]
        if payload["budget"] is not None or not payload["setters"]
        else auto_budget(spec, payload["setters"], payload["run_id"])
    )


def search_unit(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Plan unit: the searches of one strategy at some seeds, each returning the rows ``trials.csv`` keeps of it
    (so nothing reads the trials back) and its charged cost. A unit taken over from a worker that died replays
    its studies, answered by the storage and the evaluation cache, so each run is the one an uninterrupted worker
    makes."""
    spec = spec_of(payload, ctx)
    bench = spec.bench
    land = bench_landscape(bench)
    runs = {}
    for seed in payload["seeds"]:
        run = run_spec(
            spec,
            payload["strategy"],
            seed,
            None if payload["phase"] == 0 else budget_of_seed(unit_budget(payload, spec), seed),
        )
        if payload["attempt"] > 1 and run.store:
            discard_interrupted(run)
        study = run_worker(run, ctx.threads, watch_parent=ctx.watch_parent)
        trials = study.get_trials(deepcopy=False)
        if not run_ended(study, run.limit):
            raise Abandoned(f"{run.study_name} stopped before its end")
        runs[str(seed)] = {
            "study": run.study_name,
            "charged": charged(trials),
            "rows": run_rows(trials, payload["strategy"], seed, bench.metric, land),
        }
    return {"runs": runs}


def discard_interrupted(run: SearchSpec) -> None:
    """Delete a study left by a dead worker when it holds an unfinished or failed trial (its numbering would
    differ from an uninterrupted run's); its finished evaluations come back from the cache."""
    storage = open_storage(run.storage, heartbeat=None)
    trials = trials_by_name(storage, [run.study_name])[run.study_name]
    if any(t.state in (TrialState.RUNNING, TrialState.WAITING, TrialState.FAIL) for t in trials):
        optuna.delete_study(study_name=run.study_name, storage=storage)


def final_unit(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Plan unit: the final evaluation of one run's best cell within the budget (live benchmarks; a table's
    finals are lookups, made by the starting command)."""
    spec = spec_of(payload, ctx)
    bench = spec.bench
    name = study_name(spec.benchmark, payload["strategy"], payload["seed"])
    trials = trials_by_name(open_storage(spec.storage, heartbeat=None), [name])[name]
    frame = runs_frame(
        {
            (payload["strategy"], payload["seed"]): run_rows(
                trials, payload["strategy"], payload["seed"], bench.metric, None
            )
        },
        spec,
        unit_budget(payload, spec),
    )
    rows = summarize_runs(frame, spec, bench.metric)
    return final_job(bench, rows["best_cell"].iloc[0], payload["seed"], spec.cache, spec.data_dir, ctx.threads)


def run_rows(trials: list[FrozenTrial], strategy: str, seed: int, metric: str, land) -> list[dict[str, Any]]:
    """The ``trials.csv`` rows of one run: its finished trials in order with their running cost totals (and, on a
    table with landscape ``land``, the exact simple regret and whether the cell is in the top 1 %). Whether a
    row is within the budget is ``runs_frame``'s."""
    totals = running_totals(trials)
    # a pruned trial's score is a partial one: it is charged, but never an incumbent
    observed = [trial_score(r["trial"]) if r["trial"].state == TrialState.COMPLETE else None for r in totals]
    pruned = any(ta.PRUNED_AT_EPOCH in r["trial"].user_attrs for r in totals)
    if land is not None:  # a table knows the optimum: simple regret after every evaluation
        land.include(
            Cell.from_dict(r["trial"].user_attrs[ta.CELL]) for r in totals if r["trial"].user_attrs.get(ta.CELL)
        )
        regrets = regret_column([r["trial"].user_attrs.get(ta.ARCH_KEY) for r in totals], observed, land)
        top = land.top(0.01)
    clocked = bool(totals) and ta.CLOCK_END in totals[0]["trial"].user_attrs
    if clocked and land is not None:  # regret as known at each end time: the trials ended by then
        by_end = sorted(
            range(len(totals)), key=lambda i: (totals[i]["trial"].user_attrs[ta.CLOCK_END], totals[i]["trial"].number)
        )
        at_end = regret_column(
            [totals[i]["trial"].user_attrs.get(ta.ARCH_KEY) for i in by_end],
            [trial_score(totals[i]["trial"]) for i in by_end],
            land,
        )
        regret_by_clock = dict(zip(by_end, at_end))
    rows = []
    for i, r in enumerate(totals):
        t = r["trial"]
        a = t.user_attrs
        clock = {c: a.get(c) for c in CLOCK_ATTRS} if clocked else {}
        if clocked and land is not None:
            clock["regret_by_clock"] = regret_by_clock[i]
        rows.append(
            {
                "strategy": strategy,
                "seed": seed,
                "trial": t.number,
                "eval_index": r["eval_index"],
                # the cost as charged (a strategy's proxy scoring included)
                "cost_s": cost_of(a, "seconds"),
                "train_flops": cost_of(a, "flops"),
                "cum_cost_s": r["cum_cost_s"],
                "cum_train_flops": r["cum_train_flops"],
                "score": observed[i],
                metric: a.get(metric),
                "macs": a.get("macs"),
                "params": a.get("params"),
                "edges": a.get("edges"),
                "cache_hit": a.get("cache_hit"),
                "repeat": r["repeat"],
                "arch_key": a.get("arch_key"),
                "step": a.get("step"),
                "cell": json.dumps(a.get("cell")),
                **({ta.PRUNED_AT_EPOCH: a.get(ta.PRUNED_AT_EPOCH)} if pruned else {}),
                **(
                    {"regret": regrets[i], "top1pct": observed[i] is not None and a.get("arch_key") in top}
                    if land is not None
                    else {}
                ),
                **clock,
            }
        )
    return rows
