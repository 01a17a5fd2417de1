"""Milliseconds per run of each built-in strategy on a shipped table, one process, SQLite storage: where the
default compare's time goes (its floor is these runs; the samplers' own work and Optuna's per-trial bookkeeping).

    python benchmarks/table_runs.py [--seeds 10] [--table cifar10-small-table] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import optuna

from nasbench_shrink.runs.search import SearchSpec, run_worker
from nasbench_shrink.strategies import default_strategies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--table", default="cifar10-small-table")
    ap.add_argument("--budget-flops", type=float, default=2.887e11)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = {
        "table": args.table,
        "seeds": args.seeds,
        "budget_flops": args.budget_flops,
        "ms_per_run": {},
        "trials_per_run": {},
    }
    with tempfile.TemporaryDirectory() as d:
        storage = f"sqlite:///{d}/s.db"
        run_worker(
            SearchSpec(
                strategy="random",
                benchmark=args.table,
                seed=10_000,
                storage=storage,
                cache=None,
                budget_kind="evals",
                budget=3,
            )
        )  # warm-up: imports, the table, the landscape
        for s in default_strategies():
            t0, trials = time.perf_counter(), 0
            for seed in range(args.seeds):
                study = run_worker(
                    SearchSpec(
                        strategy=s,
                        benchmark=args.table,
                        seed=seed,
                        storage=storage,
                        cache=None,
                        budget_kind="flops",
                        budget=args.budget_flops,
                    )
                )
                trials += len(study.get_trials(deepcopy=False))
            out["ms_per_run"][s] = round(1000 * (time.perf_counter() - t0) / args.seeds, 1)
            out["trials_per_run"][s] = trials / args.seeds
    out["ms_per_seed_all_strategies"] = round(sum(out["ms_per_run"].values()), 1)
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
