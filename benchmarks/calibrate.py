"""Calibrate a CPU benchmark preset: cost of a complete candidate and how well the proxy discriminates.

    python benchmarks/calibrate.py [--benchmark digits|ptb-tiny] [--cells 24] [--nodes 8] [--threads 2]
                                   [--data-dir ../shared/data] [--json PATH]

Prints the seconds for a complete N-node evaluation, the spread of the proxy metric (accuracy or perplexity) over
random cells, the spread of log10(resource) (MACs or parameters), and how strongly each of the two alone ranks the
score (Spearman) for a grid of λ; a balanced λ keeps both well below 1.
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
    ap.add_argument("--benchmark", default="digits")
    ap.add_argument("--cells", type=int, default=24)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--nodes", type=int, default=None, help="default: 8 for digits, the benchmark's N otherwise")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    bench = get_benchmark(a.benchmark)
    nodes = a.nodes or (8 if bench.name == "digits" else bench.nodes)
    metric, resource = bench.metric, bench.resource
    t = time.perf_counter()
    full = evaluate(complete_cell(bench.space, nodes, seed=0), bench, seed=0, threads=a.threads, data_dir=a.data_dir)
    complete_s = time.perf_counter() - t
    rng = random.Random(a.seed)
    rows = []
    for _ in range(a.cells):
        p = rng.choice([0.2, 0.4, 0.6, 0.8])
        cell = Cell(
            bench.space, nodes, [e for e in all_edges(nodes) if rng.random() < p], random_ops(bench.space, nodes, rng)
        )
        r = evaluate(cell, bench, seed=0, threads=a.threads, data_dir=a.data_dir)
        rows.append(
            {
                "edges": len(cell.active_edges),
                metric: r.perf,
                f"log10_{resource}": math.log10(max(r.resource, 1)),
                "score": r.score,
                "seconds": r.cost_s,
            }
        )
    perf = [r[metric] for r in rows]
    res = [r[f"log10_{resource}"] for r in rows]
    sc = [r["score"] for r in rows]
    sign = 1 if metric == "accuracy" else -1  # "better" direction of the metric
    out = {
        "benchmark": bench.name,
        "lam": bench.lam,
        "threads": a.threads,
        "nodes": nodes,
        f"complete_n{nodes}_seconds": round(complete_s, 2),
        f"complete_n{nodes}_{metric}": full.perf,
        "cells": a.cells,
        f"{metric}_mean": statistics.mean(perf),
        f"{metric}_std": statistics.stdev(perf),
        f"{metric}_min": min(perf),
        f"{metric}_max": max(perf),
        f"log10_{resource}_std": statistics.stdev(res),
        f"spearman_score_vs_{metric}": float(spearmanr(sc, [sign * x for x in perf]).statistic),
        f"spearman_score_vs_neg_{resource}": float(spearmanr(sc, [-x for x in res]).statistic),
        "mean_candidate_seconds": statistics.mean(r["seconds"] for r in rows),
    }
    # how much each part alone decides the score, for a grid of weights
    out["lam_grid"] = {}
    for lam in (0.02, 0.03, 0.05, 0.1, 0.15, 0.2, 0.3, 1.0):
        s = [bench.score(x, 10**m, lam=lam) for x, m in zip(perf, res)]
        out["lam_grid"][lam] = {
            f"spearman_vs_{metric}": round(float(spearmanr(s, [sign * x for x in perf]).statistic), 3),
            f"spearman_vs_neg_{resource}": round(float(spearmanr(s, [-x for x in res]).statistic), 3),
        }
    for k, v in out.items():
        print(f"{k:>28}: {v:.4f}" if isinstance(v, float) else f"{k:>28}: {v}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({**out, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
