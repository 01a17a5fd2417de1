"""Live verification of a comparison on the surrogate ``cifar10-small-n8``: train the cells its runs returned on the
live tier (``cifar10-small``, N = 8, one seed each) and set what was measured against what the surrogate predicted.

For each (strategy, seed) of the comparison's summary.csv, up to ``--per-strategy`` seeds per strategy, the run's
best cell is trained live at the run's seed through an evaluation cache of its own (so a rerun resumes, and the
cells do not enter the surrogate's training data unnoticed). Printed and written: per cell the predicted seed mean
and the measured accuracy; across cells Kendall τ and Spearman ρ with bootstrap 95 % intervals, the mean error,
and the share of measurements within the noise model's ±2 SD of the prediction.

    python benchmarks/verify_surrogate_live.py RUN_DIR [--per-strategy 3] [--cache sqlite:///n8-verify.db]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _ci(pred: np.ndarray, obs: np.ndarray, fn, resamples: int = 2000) -> tuple[float, float, float]:
    rng = np.random.default_rng(0)
    boots = []
    for _ in range(resamples):
        i = rng.integers(0, len(obs), len(obs))
        boots.append(fn(pred[i], obs[i]).statistic)
    boots = np.asarray(boots)
    boots = boots[np.isfinite(boots)]
    return float(fn(pred, obs).statistic), float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--per-strategy", type=int, default=3)
    ap.add_argument("--cache", default="sqlite:///n8-verify.db", help="evaluation cache URL for the live trainings")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", type=Path, default=None, help="JSON output (default RUN_DIR/verify-live.json)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    import warnings

    from scipy import stats as st

    warnings.filterwarnings("ignore", category=st.ConstantInputWarning)  # a resample of equal values

    from nasbench_shrink import EvaluationCache, evaluate
    from nasbench_shrink.catalogue import get_benchmark
    from search_spaces import Cell

    summary = pd.read_csv(args.run_dir / "summary.csv")
    surrogate = get_benchmark("cifar10-small-n8")
    live = get_benchmark("cifar10-small").with_options(nodes=8, k=10)
    land = surrogate.evaluator.landscape(surrogate)
    cache = EvaluationCache(args.cache)
    picked = summary.sort_values(["strategy", "seed"]).groupby("strategy").head(args.per_strategy)
    rows = []
    t0 = time.perf_counter()
    for i, r in enumerate(picked.itertuples(), 1):
        cell = Cell.from_json(r.best_cell)
        land.include([cell])
        rec = evaluate(cell, live, seed=int(r.seed), cache=cache, data_dir=args.data_dir)
        rows.append(
            {
                "strategy": r.strategy,
                "seed": int(r.seed),
                "key": cell.key,
                "edges": len(cell.active_edges),
                "predicted": land.mean_perf[cell.key],
                "measured": rec.accuracy,
                "cache_hit": rec.cache_hit,
            }
        )
        print(
            f"{i}/{len(picked)} {r.strategy} seed {r.seed}: predicted {rows[-1]['predicted']:.4f} "
            f"measured {rec.accuracy:.4f}"
        )
    frame = pd.DataFrame(rows)
    pred, obs = frame["predicted"].to_numpy(float), frame["measured"].to_numpy(float)
    sd = surrogate.evaluator.surrogate.noise_sd
    out = {
        "run": str(args.run_dir),
        "cells": len(frame),
        "kendall": dict(zip(("value", "lo", "hi"), _ci(pred, obs, st.kendalltau))),
        "spearman": dict(zip(("value", "lo", "hi"), _ci(pred, obs, st.spearmanr))),
        "mean_error": float(np.mean(obs - pred)),
        "mean_abs_error": float(np.mean(np.abs(obs - pred))),
        "noise_sd": sd,
        "within_2sd": float(np.mean(np.abs(obs - pred) <= 2 * sd)),
        "by_strategy": frame.groupby("strategy")[["predicted", "measured"]].mean().round(4).to_dict("index"),
        "seconds": round(time.perf_counter() - t0, 1),
        "rows": rows,
    }
    path = args.out or args.run_dir / "verify-live.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    k, s = out["kendall"], out["spearman"]
    print(
        f"{len(frame)} cells: Kendall τ {k['value']:.3f} [{k['lo']:.3f}, {k['hi']:.3f}], Spearman ρ "
        f"{s['value']:.3f} [{s['lo']:.3f}, {s['hi']:.3f}]; measured − predicted {out['mean_error']:+.4f} (mean), "
        f"|error| {out['mean_abs_error']:.4f}; within ±2 SD: {100 * out['within_2sd']:.0f} %; wrote {path}"
    )


if __name__ == "__main__":
    main()
