"""Calibrate the `digits` benchmark: cost of a complete N=8 candidate and how well the proxy discriminates.

    python benchmarks/calibrate_digits.py [--cells 24] [--threads 2] [--json PATH]

Prints the seconds for a complete N=8 evaluation, the spread of proxy accuracy over random cells, the spread of
log10(MACs), and how strongly each of the two alone ranks the score (Spearman); a balanced λ keeps both well
below 1.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import time

from scipy.stats import spearmanr

from nasbench_shrink import evaluate, get_benchmark
from search_spaces import Cell, all_edges, complete_cell
from search_spaces.space import random_ops


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=24)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--nodes", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    bench = get_benchmark("digits")
    t = time.perf_counter()
    full = evaluate(complete_cell("cnn", 8, seed=0), bench, seed=0, threads=a.threads)
    complete_s = time.perf_counter() - t
    rng = random.Random(a.seed)
    rows = []
    for _ in range(a.cells):
        p = rng.choice([0.2, 0.4, 0.6, 0.8])
        cell = Cell("cnn", a.nodes, [e for e in all_edges(a.nodes) if rng.random() < p], random_ops("cnn", a.nodes, rng))
        r = evaluate(cell, bench, seed=0, threads=a.threads)
        rows.append({"edges": len(cell.active_edges), "accuracy": r.accuracy, "log10_macs": math.log10(r.macs),
                     "score": r.score, "seconds": r.cost_s})
    acc = [r["accuracy"] for r in rows]
    lm = [r["log10_macs"] for r in rows]
    sc = [r["score"] for r in rows]
    out = {
        "benchmark": bench.name, "lam": bench.lam, "threads": a.threads,
        "complete_n8_seconds": round(complete_s, 2), "complete_n8_accuracy": full.accuracy,
        "cells": a.cells, "accuracy_mean": statistics.mean(acc), "accuracy_std": statistics.stdev(acc),
        "accuracy_min": min(acc), "accuracy_max": max(acc), "log10_macs_std": statistics.stdev(lm),
        "lam_balance": statistics.stdev(acc) / statistics.stdev(lm),
        "spearman_score_vs_accuracy": float(spearmanr(sc, acc).statistic),
        "spearman_score_vs_neg_macs": float(spearmanr(sc, [-x for x in lm]).statistic),
        "mean_candidate_seconds": statistics.mean(r["seconds"] for r in rows),
    }
    # how much each part alone decides the score, for a grid of weights
    out["lam_grid"] = {}
    for lam in (0.05, 0.1, 0.12, 0.15, 0.2, 0.3):
        s = [a_ - lam * (m - 6) for a_, m in zip(acc, lm)]
        out["lam_grid"][lam] = {"spearman_vs_accuracy": round(float(spearmanr(s, acc).statistic), 3),
                                "spearman_vs_neg_macs": round(float(spearmanr(s, [-x for x in lm]).statistic), 3)}
    for k, v in out.items():
        print(f"{k:>28}: {v:.4f}" if isinstance(v, float) else f"{k:>28}: {v}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({**out, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
