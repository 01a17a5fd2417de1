"""Validate the simulated clock against a live run: the same search run live with 2 real worker processes on
``digits`` and simulated on 2 workers over the live trials' own recorded seconds.

The live run's records are written as a one-seed table of exactly the architectures it evaluated, and the same
strategy and seed run on that table with ``--workers-sim 2``: a trial then lasts what it lasted live (its
charged training seconds), so the difference between the two schedules is what the simulator leaves out (the
sampler's decisions, storage round trips, building each network and loading its data). Printed and written to
``benchmarks/results/clock_live_vs_sim.json``: per strategy, both makespans, the per-trial start times, the rank
correlation of the start order, and the largest start difference.

    python benchmarks/clock_live_vs_sim.py [--evals 40]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "results" / "clock_live_vs_sim.json"


def _schedule(trials, origin: float = 0.0) -> dict[int, dict]:
    from nasbench_shrink import trial_attrs as ta

    return {
        t.number: {
            "key": t.user_attrs.get(ta.ARCH_KEY),
            "start": t.user_attrs[ta.CLOCK_START] - origin,
            "end": t.user_attrs[ta.CLOCK_END] - origin,
            "cost_s": t.user_attrs.get(ta.COST_S, 0.0),
            "repeat": bool(t.user_attrs.get(ta.REPEAT)),
        }
        for t in trials
        if ta.CLOCK_START in t.user_attrs
    }


def one(strategy: str, evals: int | None, folder: Path) -> dict:
    import numpy as np
    from optuna.trial import TrialState
    from scipy.stats import spearmanr

    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.evaluation.cache import cache_key, open_cache
    from nasbench_shrink.evaluation.evaluator import EvalRecord
    from nasbench_shrink.runs.search import SearchSpec, run_search, run_worker
    from nasbench_shrink.tables.table import table_benchmark, write_table

    digits = get_benchmark("digits")
    budget = {"budget_kind": "evals", "budget": evals} if evals else {}
    cache = f"sqlite:///{folder / f'{strategy}-cache.db'}"
    live = SearchSpec(
        strategy=strategy,
        benchmark=digits,
        seed=0,
        nodes=5,
        k=3,
        storage=f"sqlite:///{folder / f'{strategy}-live.db'}",
        cache=cache,
        heartbeat=2,
        **budget,
    )
    t0 = time.perf_counter()
    study = run_search(live, workers=2)
    wall = time.perf_counter() - t0
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    origin = min(t.user_attrs["clock_start"] for t in done if "clock_start" in t.user_attrs)  # (a repeat: none)
    live_s = _schedule(done, origin)
    fid = digits.fidelity_key("proxy")
    stored = open_cache(cache)
    keys = sorted({t.user_attrs["arch_key"] for t in done})
    records = [EvalRecord.from_dict(stored.get(cache_key(k, fid, 0))) for k in keys]
    path = folder / f"{strategy}-replay.parquet"
    write_table(path, records, digits, 5, [0], len(keys), digits.cpu_threads)
    replay = table_benchmark(f"replay-{strategy}", path, digits)
    sim = SearchSpec(strategy=strategy, benchmark=replay, seed=0, nodes=5, k=3, workers_sim=2, store=False, **budget)
    sim_done = run_worker(sim).get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    sim_s = _schedule(sim_done)
    same = sorted(set(live_s) & set(sim_s))
    agree = sum(live_s[n]["key"] == sim_s[n]["key"] for n in same)
    starts_live = np.array([live_s[n]["start"] for n in same])
    starts_sim = np.array([sim_s[n]["start"] for n in same])
    live_span = max(s["end"] for s in live_s.values())
    sim_span = max(s["end"] for s in sim_s.values())
    return {
        "strategy": strategy,
        "trials_live": len(live_s),
        "trials_simulated": len(sim_s),
        "same_architecture_per_trial_number": f"{agree} of {len(same)}",
        "makespan_live_s": round(live_span, 2),
        "makespan_simulated_s": round(sim_span, 2),
        "makespan_ratio_live_over_sim": round(live_span / sim_span, 3),
        "overhead_per_trial_s": round((live_span - sim_span) / max(1, len(live_s)) * 2, 3),
        "start_order_spearman": round(float(spearmanr(starts_live, starts_sim).statistic), 4),
        "largest_start_difference_s": round(float(np.max(np.abs(starts_live - starts_sim))), 2),
        "wall_s_live_run": round(wall, 1),
        "starts": {str(n): [round(live_s[n]["start"], 3), round(sim_s[n]["start"], 3)] for n in same},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--evals", type=int, default=40, help="random search's budget (AutoShrink runs to its end)")
    a = ap.parse_args()
    import os
    import platform

    out = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores", "runs": []}
    with tempfile.TemporaryDirectory() as d:
        for strategy, evals in (("random", a.evals), ("autoshrink", None)):
            r = one(strategy, evals, Path(d))
            out["runs"].append(r)
            print(json.dumps({k: v for k, v in r.items() if k != "starts"}))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=2))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
