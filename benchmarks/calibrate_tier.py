"""Calibrate a CPU tier on random cells of its N-node space: cost, spread, and seed-vs-cell agreement.

    python benchmarks/calibrate_tier.py --benchmark cifar10-small --cells 30 --data-dir ../shared/data \
        [--workers 2] [--json benchmarks/results/calibrate_cifar10_small.json] \
        [--size 12 --train-per-class 300 --stem 16 --widths 8,16,32 --cells-per-stage 1 --batch 32 --epochs 3]

The shape options override the preset's proxy (data size, training images per class, stem, stage widths, cells
per stage, batch, epochs) so that each candidate shape is one reproducible command.

Every cell is trained at two seeds, one thread per evaluation (``--workers`` evaluations at a time). Prints the
distribution of seconds per evaluation, the standard deviation of the proxy accuracy over cells, and whether two
seeds of one cell agree better than different cells do: Spearman between the seeds across cells, against the
Spearman of seed 0 with seed 1 of *another* cell (a shifted pairing), and the mean |difference| within a cell
against between cells.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from dataclasses import replace
from pathlib import Path

from scipy.stats import spearmanr

from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.catalogue import get_benchmark
from nasbench_shrink.work.pool import WorkerPool
from search_spaces.enumeration import enumerate_cells


def shaped(name: str, o: dict) -> Benchmark:
    """The preset ``name`` with the shape overrides in ``o`` (``None`` = keep) applied to its proxy."""
    b = get_benchmark(name)
    macro, recipe = b.proxy.network, b.proxy.recipe
    if o.get("size"):
        b = replace(b, dataset=f"cifar10-{o['size']}")
        macro = replace(macro, input_size=o["size"])
    if o.get("train_per_class"):
        b = replace(b, split=replace(b.split, train_per_class=o["train_per_class"]))
    for key, field in (("stem", "stem_channels"), ("cells_per_stage", "cells_per_stage")):
        if o.get(key):
            macro = replace(macro, **{field: o[key]})
    if o.get("widths"):
        macro = replace(macro, widths=tuple(int(w) for w in o["widths"].split(",")))
    for key, field in (("batch", "batch_size"), ("epochs", "max_epochs")):
        if o.get(key):
            recipe = replace(recipe, **{field: o[key]})
    return replace(b, proxy=replace(b.proxy, network=macro, recipe=recipe))


def _evaluate(bench: str, shape: dict, cell: dict, seed: int, data_dir: str | None) -> dict:
    from nasbench_shrink import evaluate
    from search_spaces import Cell

    rec = evaluate(Cell.from_dict(cell), shaped(bench, shape), seed=seed, data_dir=data_dir, threads=1)
    return {
        "seconds": rec.cost_s,
        "accuracy": rec.accuracy,
        "epochs": rec.epochs,
        "stop": rec.stop_reason,
        "macs": rec.macs,
        "test": rec.test_perf,
        "edges": len(Cell.from_dict(cell).active_edges),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmark", default="cifar10-small")
    ap.add_argument("--cells", type=int, default=30)
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0, help="which random cells")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--json", default=None, help="append this configuration's figures to this file")
    ap.add_argument("--size", type=int, default=None, help="image side (area-downsampled CIFAR-10)")
    ap.add_argument("--train-per-class", type=int, default=None)
    ap.add_argument("--stem", type=int, default=None, help="stem channels")
    ap.add_argument("--widths", default=None, help="stage widths, e.g. 8,16,32")
    ap.add_argument("--cells-per-stage", type=int, default=None)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=None, help="maximum proxy epochs")
    a = ap.parse_args()
    shape = {
        k: getattr(a, k) for k in ("size", "train_per_class", "stem", "widths", "cells_per_stage", "batch", "epochs")
    }
    cells = random.Random(a.seed).sample(enumerate_cells("cnn", a.nodes), a.cells)
    t0 = time.perf_counter()
    with WorkerPool(a.workers) as pool:
        pool.run(
            [(_evaluate, (a.benchmark, shape, cells[0].to_dict(), 0, a.data_dir))] * a.workers
        )  # load data once each
        t0 = time.perf_counter()
        runs = pool.run([(_evaluate, (a.benchmark, shape, c.to_dict(), s, a.data_dir)) for c in cells for s in (0, 1)])
    wall = time.perf_counter() - t0
    s0, s1 = runs[0::2], runs[1::2]
    acc0, acc1 = [r["accuracy"] for r in s0], [r["accuracy"] for r in s1]
    secs = sorted(r["seconds"] for r in runs)
    shifted = acc1[1:] + acc1[:1]
    within = statistics.mean(abs(x - y) for x, y in zip(acc0, acc1))
    between = statistics.mean(abs(x - y) for i, x in enumerate(acc0) for j, y in enumerate(acc1) if i != j)
    out = {
        "benchmark": a.benchmark,
        "shape": {k: v for k, v in shape.items() if v is not None},
        "nodes": a.nodes,
        "cells": a.cells,
        "evaluations": len(runs),
        "threads": 1,
        "workers": a.workers,
        "wall_s": round(wall, 1),
        "seconds_median": round(statistics.median(secs), 2),
        "seconds_p10": round(secs[len(secs) // 10], 2),
        "seconds_p90": round(secs[(9 * len(secs)) // 10], 2),
        "seconds_max": round(secs[-1], 2),
        "accuracy_mean": round(statistics.mean(acc0 + acc1), 4),
        "accuracy_std_over_cells": round(statistics.stdev([(x + y) / 2 for x, y in zip(acc0, acc1)]), 4),
        "accuracy_std_seed0": round(statistics.stdev(acc0), 4),
        "spearman_seed0_vs_seed1_same_cell": round(float(spearmanr(acc0, acc1)[0]), 3),
        "spearman_seed0_vs_seed1_other_cell": round(float(spearmanr(acc0, shifted)[0]), 3),
        "mean_abs_diff_within_cell": round(within, 4),
        "mean_abs_diff_between_cells": round(between, 4),
        "stop_reasons": {k: sum(r["stop"] == k for r in runs) for k in sorted({r["stop"] for r in runs})},
        "per_cell": [
            {
                "cell": c.to_dict(),
                "edges": r0["edges"],
                "macs": r0["macs"],
                "acc_seed0": r0["accuracy"],
                "acc_seed1": r1["accuracy"],
                "seconds": [round(r0["seconds"], 2), round(r1["seconds"], 2)],
            }
            for c, r0, r1 in zip(cells, s0, s1)
        ],
    }
    for k, v in out.items():
        if k != "per_cell":
            print(f"{k:>36}: {v}")
    if a.json:
        path = Path(a.json)
        doc = json.loads(path.read_text()) if path.is_file() else {"configs": []}
        doc["configs"].append(out)
        path.write_text(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
