"""Does a cheap tier rank cells as the paper's proxy does? Spearman across random N-node cells.

    python benchmarks/tier_vs_proxy.py --tier cifar10-small --proxy cifar10-proxy --cells 12 \
        --data-dir ../shared/data --cache sqlite:///tier_vs_proxy.db \
        [--tier-seeds 0,1] [--workers 2] [--json benchmarks/results/tier_vs_proxy.json]

Every evaluation goes through the evaluation cache (one thread each, ``--workers`` at a time), so an interrupted
run continues where it stopped and nothing is trained twice. The cells are the first ``--cells`` of the same
random draw as ``calibrate_tier.py`` (``--seed``), so the two scripts talk about the same cells. Prints the
Spearman (and Kendall) correlation between the tier's proxy accuracy (mean over ``--tier-seeds``) and the
paper proxy's accuracy (``--proxy-seed``), and the cost of each side.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from scipy.stats import kendalltau, spearmanr

from nasbench_shrink.work.pool import WorkerPool
from search_spaces.enumeration import enumerate_cells


def _evaluate(bench: str, cell: dict, seed: int, data_dir: str | None, cache_url: str) -> dict:
    from nasbench_shrink import EvaluationCache, evaluate
    from search_spaces import Cell

    cache = EvaluationCache(cache_url)
    try:
        rec = evaluate(Cell.from_dict(cell), bench, seed=seed, data_dir=data_dir, threads=1, cache=cache)
    finally:
        cache.close()
    return {
        "accuracy": rec.accuracy,
        "seconds": rec.cost_s,
        "epochs": rec.epochs,
        "stop": rec.stop_reason,
        "test": rec.test_perf,
        "hit": rec.cache_hit,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tier", default="cifar10-small")
    ap.add_argument("--proxy", default="cifar10-proxy")
    ap.add_argument("--cells", type=int, default=12)
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0, help="which random cells (the calibration's draw)")
    ap.add_argument("--tier-seeds", default="0,1")
    ap.add_argument("--proxy-seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--cache", required=True, help="evaluation cache URL (makes the run resumable)")
    ap.add_argument("--only", choices=("tier", "proxy"), default=None, help="evaluate one side only")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    cells = random.Random(a.seed).sample(enumerate_cells("cnn", a.nodes), 30)[: a.cells]
    tier_seeds = [int(s) for s in a.tier_seeds.split(",")]
    sides = {"proxy": [(a.proxy, a.proxy_seed)], "tier": [(a.tier, s) for s in tier_seeds]}
    jobs = [
        (name, i, bench, s)
        for name in ("proxy", "tier")
        if a.only in (None, name)
        for i, _ in enumerate(cells)
        for bench, s in sides[name]
    ]
    t0 = time.perf_counter()
    with WorkerPool(a.workers) as pool:
        res = pool.run([(_evaluate, (bench, cells[i].to_dict(), s, a.data_dir, a.cache)) for _, i, bench, s in jobs])
    wall = time.perf_counter() - t0
    got: dict[str, dict[int, list[dict]]] = {"proxy": {}, "tier": {}}
    for (name, i, _, _), r in zip(jobs, res):
        got[name].setdefault(i, []).append(r)
    out = {
        "tier": a.tier,
        "proxy": a.proxy,
        "nodes": a.nodes,
        "cells": a.cells,
        "tier_seeds": tier_seeds,
        "proxy_seed": a.proxy_seed,
        "wall_s_this_run": round(wall, 1),
    }
    for name in ("proxy", "tier"):
        secs = [r["seconds"] for rs in got[name].values() for r in rs]
        if secs:
            out[f"{name}_seconds_median"] = round(statistics.median(secs), 1)
            out[f"{name}_seconds_total"] = round(sum(secs), 1)
    if got["proxy"] and got["tier"]:
        p = [statistics.mean(r["accuracy"] for r in got["proxy"][i]) for i in range(a.cells)]
        t = [statistics.mean(r["accuracy"] for r in got["tier"][i]) for i in range(a.cells)]
        out["spearman"] = round(float(spearmanr(p, t)[0]), 3)
        out["kendall"] = round(float(kendalltau(p, t)[0]), 3)
        out["per_cell"] = [
            {
                "cell": c.to_dict(),
                "proxy_acc": pa,
                "tier_acc": ta,
                "proxy_seconds": got["proxy"][i][0]["seconds"],
                "proxy_stop": got["proxy"][i][0]["stop"],
                "proxy_epochs": got["proxy"][i][0]["epochs"],
            }
            for i, (c, pa, ta) in enumerate(zip(cells, p, t))
        ]
    for k, v in out.items():
        if k != "per_cell":
            print(f"{k:>24}: {v}")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
