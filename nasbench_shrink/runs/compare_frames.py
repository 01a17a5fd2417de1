"""A comparison's results as frames: ``trials.csv`` (every trial of every run, with running totals, regret and
the within-budget rule) and ``summary.csv`` (one row per run), in the names the results show."""

from __future__ import annotations

from typing import Any

import pandas as pd

from nasbench_shrink import trial_attrs as ta
from nasbench_shrink.analysis.fronts import front_summary
from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.budget import (
    budget_of_seed,
    cumulative_column,
    within_limit,
)
from nasbench_shrink.objectives import parse_objectives
from nasbench_shrink.runs.compare_spec import CompareSpec


def bench_landscape(bench: Benchmark):
    """What the benchmark knows of true scores (a table: exact; a surrogate: against its best known cell), or
    None for live training."""
    return bench.evaluator.landscape(bench) if bench.evaluator is not None else None


def with_display_names(frame: pd.DataFrame, spec: CompareSpec) -> pd.DataFrame:
    """Plug-ins under the names they declare (``hill-climb``, not ``examples/hill_climb.py:factory``), unless two
    strategies would then share a name; the plan and the studies keep the names they were asked by."""
    labels = {name: plan.display_name for name, plan in spec.plans.items() if plan.display_name != name}
    shown = [labels.get(n, n) for n in spec.strategies]
    if not labels or len(set(shown)) < len(shown) or frame.empty:
        return frame
    frame = frame.copy()
    frame["strategy"] = frame["strategy"].replace(labels)
    return frame


def runs_frame(
    rows: dict[tuple[str, int], list[dict[str, Any]]], spec: CompareSpec, budget: float | dict[int, float] | None
) -> pd.DataFrame:
    """All runs' rows as one table, with each run's budget and the within-budget flag (``budget.within_limit``
    on the running total of the budget's kind)."""
    frame = pd.DataFrame([r for run in rows.values() for r in run])
    if frame.empty:
        return frame
    frame["budget"] = [budget_of_seed(budget, int(s)) for s in frame["seed"]]
    frame.insert(
        frame.columns.get_loc("step") + 1,
        "within_budget",
        within_limit(frame[cumulative_column(spec.budget_kind)].to_numpy(float), frame["budget"].to_numpy(float)),
    )
    return frame


def summarize_runs(trials: pd.DataFrame, spec: CompareSpec, metric: str = "accuracy") -> pd.DataFrame:
    """One row per run: its cost, its best cell by score, and its end point (final regret on a table; with two
    objectives, the believed front's hypervolume regret and IGD+, or its hypervolume live)."""
    objectives = parse_objectives(spec.objectives)
    fronts = objectives.multi and ("hv_regret" in trials.columns or "hv" in trials.columns)
    land = bench_landscape(spec.bench) if fronts else None
    rows = []
    for (strategy, seed), g in trials[trials["within_budget"]].groupby(["strategy", "seed"], sort=False):
        best = g.loc[g["score"].idxmax()] if g["score"].notna().any() else g.iloc[0]  # pruned rows have no score
        extra = {}
        if "regret" in g.columns:  # a table: exact regret, and the charged evaluations until a top-1 % cell
            hits = g.loc[g["top1pct"].astype(bool), "eval_index"]
            extra = {
                "final_regret": g["regret"].iloc[-1],
                "evals_to_top1pct": float(hits.iloc[0]) if len(hits) else float("nan"),
            }
        if "clock_end" in g.columns:  # a simulated clock: the run's makespan, work and time to a top-1 % cell
            hit_times = g.loc[g["top1pct"].astype(bool), "clock_end"] if "top1pct" in g.columns else []
            t0 = g["clock_start"].min()  # 0 on a simulated clock; the first trial's start on a real one
            extra.update(
                {
                    "makespan_s": g["clock_end"].max() - t0,
                    "busy_s": g["cost_s"].sum(),
                    "time_to_top1pct_s": float(min(hit_times)) - t0 if len(hit_times) else float("inf"),
                }
            )
        if ta.PRUNED_AT_EPOCH in g.columns:  # a pruned run: how many of its evaluations the pruner stopped
            extra["pruned"] = int((g[ta.PRUNED_AT_EPOCH].notna() & ~g["repeat"].astype(bool)).sum())
        if fronts:
            extra.update(
                front_summary(g, metric, objectives.cost, spec.bench.kind.higher_is_better, land, reference=trials)
            )
        rows.append(
            {
                "strategy": strategy,
                "seed": int(seed),
                "evaluations": int((~g["repeat"]).sum()),
                "trials": len(g),
                "repeats": int(g["repeat"].sum()),
                "budget": g["budget"].iloc[0],
                "search_cost_s": g["cost_s"].sum(),
                "search_flops": g["train_flops"].sum(),
                "cache_hits": int(g["cache_hit"].sum()),
                "best_score": best["score"],
                f"best_{metric}": best[metric],
                "best_params": best["params"],
                "best_macs": best["macs"],
                "best_edges": best["edges"],
                "best_arch_key": best["arch_key"],
                "best_cell": best["cell"],
                **extra,
            }
        )
    return pd.DataFrame(rows)
