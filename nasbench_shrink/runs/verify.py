"""Live verification of a comparison on a surrogate: train the cells its runs returned on the live tier the
surrogate was fitted on, and set what was measured against what it predicted.

For each strategy, the runs of its first ``per_strategy`` seeds: the run's best cell is trained live at the run's
seed through an evaluation cache (a rerun resumes; a cell trained before is not trained again). Across the cells:
Kendall τ and Spearman ρ between predicted seed mean and measured accuracy with bootstrap 95 % intervals, the mean
error, and the share of measurements within the noise model's ±2 SD.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.errors import UserError
from search_spaces import Cell

__all__ = ["VERIFY_FILE", "verify_line", "verify_live"]

VERIFY_FILE = "verify-live.json"


def _ci(pred: np.ndarray, obs: np.ndarray, fn, resamples: int = 2000) -> dict[str, float]:
    from scipy import stats as st

    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", st.ConstantInputWarning)  # a resample of equal values
        boots = np.asarray([fn(pred[i], obs[i]).statistic for i in rng.integers(0, len(obs), (resamples, len(obs)))])
        point = float(fn(pred, obs).statistic)
    boots = boots[np.isfinite(boots)]
    lo, hi = (float(np.quantile(boots, q)) for q in (0.025, 0.975)) if boots.size else (np.nan, np.nan)
    return {"value": point, "lo": lo, "hi": hi}


def verify_live(
    run_dir: Path,
    surrogate: Benchmark,
    live: Benchmark,
    per_strategy: int,
    cache: Any,
    data_dir: str | None = None,
    on_cell: Callable[[int, int, dict], None] | None = None,
) -> dict[str, Any]:
    """Train the returned cells of ``run_dir``'s runs on ``live``; write and return the verification."""
    from scipy import stats as st

    from nasbench_shrink.evaluation.evaluator import evaluate

    land = surrogate.evaluator.landscape(surrogate) if surrogate.evaluator is not None else None
    if land is None or land.enumerated:
        raise UserError(f"{surrogate.name} is not a surrogate: --verify-live checks a surrogate's predictions")
    summary = pd.read_csv(run_dir / "summary.csv")
    picked = summary.sort_values(["strategy", "seed"]).groupby("strategy", sort=False).head(per_strategy)
    rows: list[dict] = []
    t0 = time.perf_counter()
    for i, r in enumerate(picked.itertuples(), 1):
        cell = Cell.from_json(r.best_cell)
        land.include([cell])
        rec = evaluate(cell, live, seed=int(r.seed), cache=cache, data_dir=data_dir)
        rows.append(
            {
                "strategy": r.strategy,
                "seed": int(r.seed),
                "key": cell.key,
                "edges": len(cell.active_edges),
                "predicted": land.mean_perf[cell.key],
                "measured": rec.perf,
                "cache_hit": rec.cache_hit,
            }
        )
        if on_cell is not None:
            on_cell(i, len(picked), rows[-1])
    frame = pd.DataFrame(rows)
    pred, obs = frame["predicted"].to_numpy(float), frame["measured"].to_numpy(float)
    sd = surrogate.evaluator.surrogate.noise_sd
    out = {
        "run": str(run_dir),
        "live": live.name,
        "cells": len(frame),
        "kendall": _ci(pred, obs, st.kendalltau),
        "spearman": _ci(pred, obs, st.spearmanr),
        "mean_error": float(np.mean(obs - pred)),
        "mean_abs_error": float(np.mean(np.abs(obs - pred))),
        "noise_sd": sd,
        "within_2sd": float(np.mean(np.abs(obs - pred) <= 2 * sd)),
        "by_strategy": frame.groupby("strategy", sort=False)[["predicted", "measured"]]
        .mean()
        .round(4)
        .to_dict("index"),
        "seconds": round(time.perf_counter() - t0, 1),
        "rows": rows,
    }
    (run_dir / VERIFY_FILE).write_text(json.dumps(out, indent=1) + "\n")
    return out


def verify_line(out: dict[str, Any]) -> str:
    """One line of the verification's figures."""
    k, s = out["kendall"], out["spearman"]
    return (
        f"live verification, {out['cells']} cells: Kendall τ {k['value']:.3f} [{k['lo']:.3f}, {k['hi']:.3f}], "
        f"Spearman ρ {s['value']:.3f} [{s['lo']:.3f}, {s['hi']:.3f}]; measured − predicted {out['mean_error']:+.4f} "
        f"(mean), |error| {out['mean_abs_error']:.4f}; within ±2 SD: {100 * out['within_2sd']:.0f} %"
    )
