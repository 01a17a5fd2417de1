"""AutoShrink's per-trial sampler overhead against the number of trials already in the study.

The sampler derives its state from the study's trials; this measures what that costs per trial as a study grows,
with an instant objective (a score drawn from the cell's key) on an in-memory storage, so only the sampler and
Optuna's own trial handling are timed.

    python benchmarks/sampler_overhead.py [--nodes 12] [--k 20] [--json benchmarks/results/sampler_overhead.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time
from pathlib import Path

import optuna

from nasbench_shrink.samplers.autoshrink import AutoShrinkSampler
from nasbench_shrink.samplers.params import suggest_cell


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=12)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bin", type=int, default=100, help="trials per reported bin")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = AutoShrinkSampler("cnn", a.nodes, k=a.k, seed=a.seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    times: list[float] = []
    mark = [time.perf_counter()]

    def objective(trial: optuna.Trial) -> float:
        cell = suggest_cell(trial, "cnn", a.nodes)
        return int(hashlib.sha1(cell.key.encode()).hexdigest()[:8], 16) / 2**32 - 0.01 * len(cell.active_edges)

    def tick(study: optuna.Study, trial) -> None:
        now = time.perf_counter()
        times.append(now - mark[0])
        mark[0] = now

    t0 = time.perf_counter()
    study.optimize(objective, callbacks=[tick])
    total = time.perf_counter() - t0
    bins = [
        {
            "trials": f"{i + 1}-{min(i + a.bin, len(times))}",
            "ms_per_trial": round(statistics.median(times[i : i + a.bin]) * 1e3, 3),
        }
        for i in range(0, len(times), a.bin)
    ]
    out = {
        "nodes": a.nodes,
        "k": a.k,
        "trials": len(times),
        "total_s": round(total, 2),
        "ms_per_trial_median": round(statistics.median(times) * 1e3, 3),
        "by_trial_count": bins,
    }
    print(json.dumps(out, indent=2))
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
