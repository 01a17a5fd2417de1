"""How closely this machine reproduces a table: re-train a few of its rows live and compare.

    python benchmarks/table_reproduce.py --table benchmarks/results/tables/cifar10-small-n5-seed0.parquet \
        --seed 0 --cells 6 --data-dir ../shared/data [--json benchmarks/results/table_reproduce.json]

Rows trained on a machine of this one's fingerprint (processor, vector ISA, torch) should come back exactly; rows
from another machine differ in the last bits, which a short training run can amplify into seed-sized differences.
The figures set the tolerance of the shipped-table tests.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from nasbench_shrink import evaluate
from nasbench_shrink.evaluation.machine import machine_of
from nasbench_shrink.tables.table import load_table
from search_spaces.cell import Cell


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", required=True, help="a table file (tabulate --out)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cells", type=int, default=6, help="rows spread evenly over the table's sorted keys")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--json", default=None, help="append the result to this JSON list")
    a = ap.parse_args()
    table = load_table(a.table)
    keys = table.keys
    picks = [keys[round(i * (len(keys) - 1) / max(1, a.cells - 1))] for i in range(a.cells)]
    here = machine_of(torch.device("cpu"))
    rows = []
    t0 = time.perf_counter()
    for key in picks:
        row = table.row(key, a.seed)
        live = evaluate(Cell.from_dict(json.loads(row["cell"])), table.meta["live"], seed=a.seed, data_dir=a.data_dir)
        rows.append(
            {
                "key": key,
                "recorded": row["perf"],
                "live": live.accuracy if live.accuracy is not None else live.perplexity,
                "recorded_epochs": row["epochs"],
                "live_epochs": live.epochs,
                "recorded_on": row.get("machine") or table.meta.get("cpu"),
                "same_machine": row.get("machine") == here,
                "recorded_s": row["cost_s"],
                "live_s": live.cost_s,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    diffs = [abs(r["live"] - r["recorded"]) for r in rows]
    out = {
        "table": str(a.table),
        "live": table.meta["live"],
        "seed": a.seed,
        "cells": len(rows),
        "machine": here,
        "exact": sum(d == 0 for d in diffs),
        "mean_abs_diff": statistics.mean(diffs),
        "max_abs_diff": max(diffs),
        "median_time_ratio_live_vs_recorded": statistics.median(r["live_s"] / r["recorded_s"] for r in rows),
        "wall_s": round(time.perf_counter() - t0, 1),
        "rows": rows,
    }
    print(json.dumps({k: v for k, v in out.items() if k != "rows"}, indent=1))
    if a.json:
        p = Path(a.json)
        prior = json.loads(p.read_text()) if p.is_file() else []
        p.write_text(json.dumps(prior + [out], indent=1) + "\n")


if __name__ == "__main__":
    main()
