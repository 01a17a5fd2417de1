"""Pruning measured: the same comparison on a table without a pruner and with each given one, side by side.

Runs (or reuses) ``nasbench-shrink compare -b TABLE --strategies autoshrink,random,tpe --seeds 0-(N-1) --pruner P``
for P in none and each ``--pruners`` entry, then prints and writes per pruner and strategy: final regret IQM with
its bootstrap 95 % interval, the median charged evaluations until a top-1 % cell (runs that never reach one count
as infinitely late), the share of runs reaching one, the median evaluations per run, the share of them stopped
early and the median epochs a run's pruner saved (the epochs its stopped evaluations did not train).

    python benchmarks/pruner_runs.py [--table digits-table] [--seeds 100] [--pruners median,hyperband] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from nasbench_shrink import trial_attrs as ta

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--table", default="digits-table")
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--pruners", default="median,hyperband")
    ap.add_argument("--strategies", default="autoshrink,random,tpe")
    ap.add_argument("--dir", type=Path, default=Path("results/pruners"), help="where the comparisons are written")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "pruners-digits-table")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from nasbench_shrink.analysis.stats import bootstrap_ci, iqm
    from nasbench_shrink.catalogue import get_benchmark

    bench = get_benchmark(args.table)
    table = bench.evaluator.table
    rows = []
    for pruner in ["none", *args.pruners.split(",")]:
        run = args.dir / f"{args.table}-{pruner}"
        cmd = [
            sys.executable,
            "-m",
            "nasbench_shrink.cli",
            "compare",
            "-b",
            args.table,
            "--strategies",
            args.strategies,
        ]
        cmd += ["--seeds", f"0-{args.seeds - 1}", "--pruner", pruner, "--out", str(run), "--format", "csv"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        summary = pd.read_csv(run / "summary.csv")
        trials = pd.read_csv(run / "trials.csv")
        trials = trials[trials["within_budget"]]
        for strategy, g in summary.groupby("strategy", sort=False):
            t = trials[trials["strategy"] == strategy]
            saved = []
            for seed, r in t.groupby("seed"):
                if ta.PRUNED_AT_EPOCH not in r:
                    saved.append(0)
                    continue
                stopped = r[r[ta.PRUNED_AT_EPOCH].notna() & ~r["repeat"]]
                epochs = [
                    len(table.record_row(k, bench.evaluator.seed_for(int(seed), k))["curve"]) - int(e)
                    for k, e in zip(stopped["arch_key"], stopped[ta.PRUNED_AT_EPOCH])
                ]
                saved.append(sum(epochs))
            lo, hi = bootstrap_ci(g["final_regret"].to_numpy(float))
            hits = g["evals_to_top1pct"].fillna(np.inf).to_numpy(float)
            rows.append(
                {
                    "pruner": pruner,
                    "strategy": strategy,
                    "final_regret_iqm": iqm(g["final_regret"].to_numpy(float)),
                    "final_regret_lo": lo,
                    "final_regret_hi": hi,
                    "median_evals_to_top1pct": float(np.median(hits)),
                    "reached_top1pct": float(np.isfinite(hits).mean()),
                    "median_evaluations": float(g["evaluations"].median()),
                    "pruned_share": float((g["pruned"] / g["evaluations"]).median()) if "pruned" in g else 0.0,
                    "median_epochs_saved": float(np.median(saved)) if saved else 0.0,
                }
            )
    frame = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "pruners.json").write_text(
        json.dumps({"table": args.table, "seeds": args.seeds, "rows": rows}, indent=1)
    )
    lines = [
        f"# Pruning on `{args.table}`: {args.seeds} seeds, paired budgets (AutoShrink's FLOPs per seed)",
        "",
        "| pruner | strategy | final regret IQM [95 % CI] | median evals to top 1 % | reached | evals / run | "
        "stopped early | epochs saved / run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['pruner']} | {r['strategy']} | {r['final_regret_iqm']:.4f} [{r['final_regret_lo']:.4f}, "
            f"{r['final_regret_hi']:.4f}] | {r['median_evals_to_top1pct']:g} | {100 * r['reached_top1pct']:.0f} % | "
            f"{r['median_evaluations']:g} | {100 * r['pruned_share']:.0f} % | {r['median_epochs_saved']:g} |"
        )
    (args.out / "pruners.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(frame.shape[0], "rows; wrote", args.out)


if __name__ == "__main__":
    main()
