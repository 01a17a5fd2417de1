"""The paper's N = 8 claims measured on the surrogate benchmark ``cifar10-small-n8``.

- §4.3: the complete N = 8 DAG shrinks from 28 edges to 6, and the chosen cell costs 2.60 M of the complete DAG's
  6.12 M MACs (0.42×). Here: the edges of AutoShrink's returned cell (its best trial) and its MACs relative to the
  complete DAG it started from (same ops), over many seeds, medians with bootstrap 95 % intervals.
- Fig. 6: K ∈ {5, 10, 15} at N = 8 — search cost grows with K while the found cell's accuracy barely moves. Here:
  charged training FLOPs and evaluations per run, and the true (noise-free) score, mean accuracy and regret of
  the returned cell against the surrogate's best known cell, per K.

Every run is AutoShrink to its end (it stops by itself), each at its own seed, through the same search code as
``nasbench-shrink search``. Writes benchmarks/results/surrogate-n8/claims.json and prints a table.

    python benchmarks/surrogate_n8_claims.py [--seeds 100] [--ks 5,10,15]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "surrogate-n8"


def _median_ci(values: list[float], resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    v = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    meds = np.median(v[rng.integers(0, len(v), (resamples, len(v)))], axis=1)
    return float(np.median(v)), float(np.quantile(meds, 0.025)), float(np.quantile(meds, 0.975))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--ks", default="5,10,15")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    import optuna
    from rich.progress import track

    from nasbench_shrink.budget import charged
    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.runs.search import SearchSpec, best_trial, run_search
    from search_spaces import Cell, complete_cell

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    bench = get_benchmark("cifar10-small-n8")
    land = bench.evaluator.landscape(bench)
    ks = [int(k) for k in args.ks.split(",")]
    runs = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        for k in ks:
            for seed in track(range(args.seeds), description=f"K = {k}"):
                spec = SearchSpec(
                    "autoshrink",
                    bench,
                    seed=seed,
                    k=k,
                    storage=f"sqlite:///{d}/k{k}.db",
                    cache=None,
                    study=f"k{k}/s{seed}",
                )
                study = run_search(spec)
                trials = study.get_trials(deepcopy=False)
                best = best_trial(study)
                cell = Cell.from_dict(best.user_attrs["cell"])
                start = complete_cell("cnn", bench.nodes, ops=cell.ops)
                land.include([cell, start])
                cost = charged(trials)
                runs.append(
                    {
                        "k": k,
                        "seed": seed,
                        "trials": len(trials),
                        "evaluations": cost["evals"],
                        "flops": cost["flops"],
                        "steps": max((t.user_attrs.get("step") or 0) for t in trials) + 1,
                        "edges": len(cell.active_edges),
                        "macs": land.macs[cell.key],
                        "macs_vs_complete": land.macs[cell.key] / land.macs[start.key],
                        "true_score": land.true_score[cell.key],
                        "mean_accuracy": land.mean_perf[cell.key],
                        "regret": land.best_score - land.true_score[cell.key],
                    }
                )
    out = {"benchmark": bench.name, "seeds": args.seeds, "best_known_score": land.best_score, "by_k": {}}
    for k in ks:
        rs = [r for r in runs if r["k"] == k]
        out["by_k"][str(k)] = {
            m: dict(zip(("median", "lo", "hi"), _median_ci([r[m] for r in rs])))
            for m in ("edges", "macs_vs_complete", "evaluations", "flops", "mean_accuracy", "true_score", "regret")
        }
    out["seconds"] = round(time.perf_counter() - t0, 1)
    out["runs"] = runs
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "claims.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"{'K':>3} {'edges':>16} {'MACs / complete':>22} {'evaluations':>20} {'mean acc.':>24} {'regret':>24}")
    for k, b in out["by_k"].items():

        def fmt(m: str, f: str = ".3f", b: dict = b) -> str:
            x = b[m]
            return f"{x['median']:{f}} [{x['lo']:{f}}, {x['hi']:{f}}]"

        print(
            f"{k:>3} {fmt('edges', '.0f'):>16} {fmt('macs_vs_complete'):>22} {fmt('evaluations', '.0f'):>20} "
            f"{fmt('mean_accuracy', '.4f'):>24} {fmt('regret', '.4f'):>24}"
        )
    figure(runs, OUT / "claims.png")
    print(f"wrote {OUT / 'claims.json'} and claims.png ({out['seconds']} s)")


def figure(runs: list[dict], path: Path) -> None:
    """Fig. 6 as measured here: per K, the charged evaluations of a run, the returned cell's edges and MACs
    relative to the complete DAG (§4.3), and its regret against the best known cell; one point per seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    frame = pd.DataFrame(runs)
    panels = [
        ("evaluations", "charged evaluations per run"),
        ("edges", "active edges of the returned cell (paper: 6)"),
        ("macs_vs_complete", "returned cell's MACs / complete DAG's (paper: 0.42)"),
        ("regret", "regret vs the best known cell"),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.6), layout="constrained")
    for ax, (col, title) in zip(axes, panels):
        sns.boxplot(data=frame, x="k", y=col, ax=ax, color="0.85", fliersize=0, width=0.5)
        sns.stripplot(data=frame, x="k", y=col, ax=ax, size=2.5, alpha=0.5, color="C0", jitter=0.2)
        ax.set_title(title, fontsize="medium")
        ax.set_xlabel("K (candidates per step)")
        ax.set_ylabel("")
    seeds = frame.groupby("k")["seed"].nunique().min()
    fig.suptitle(f"AutoShrink at N = 8 on the surrogate cifar10-small-n8, {seeds} seeds per K", fontsize="medium")
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
