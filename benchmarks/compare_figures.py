"""The figures a fairness note quotes, from compare result folders (old or new): per strategy the mean charged
cost, the final regret IQM with its interval, and the Holm-corrected p and A12 against AutoShrink; and the
detectable A12 at the folder's seeds.

    python benchmarks/compare_figures.py benchmarks/results/compare-cifar10-small-table-default [more folders]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from nasbench_shrink.analysis import stats
from nasbench_shrink.analysis.report import _COST_COLUMN, comparison, p_text
from nasbench_shrink.analysis.results import RunKind


def figures(folder: Path) -> dict:
    summary = pd.read_csv(folder / "summary.csv")
    settings = json.loads((folder / "compare.json").read_text())
    kind = settings.get("budget_kind", "flops")
    table, _, target, reference = comparison(summary, kind, RunKind.from_settings(settings, str(folder)))
    cost = summary.groupby("strategy", sort=False)[_COST_COLUMN[kind]].mean()
    seeds = summary["seed"].nunique()
    m = summary["strategy"].nunique() - 1
    return {
        "folder": str(folder),
        "benchmark": settings["settings"]["benchmark"],
        "seeds": seeds,
        "wall_s_inside_run_compare": settings.get("wall_s"),
        "budget_mode": settings.get("budget_mode", "max"),
        "detectable_a12": {
            "alpha_0.05": stats.detectable_a12(summary[target], seeds),
            f"alpha_0.05/{m}": stats.detectable_a12(summary[target], seeds, alpha=0.05 / m),
        },
        "strategies": [
            {
                "strategy": r.strategy,
                f"mean_charged_{kind}": float(cost[r.strategy]),
                f"{target}_iqm": float(getattr(r, target)),
                f"{target}_ci": [float(getattr(r, target + "_lo")), float(getattr(r, target + "_hi"))],
                "p_holm": None if pd.isna(r.p_holm) else float(r.p_holm),
                "a12_vs_reference": None if pd.isna(r.a12) else float(r.a12),
                "verdict": r.verdict,
            }
            for r in table.itertuples()
        ],
        "reference": reference,
    }


def markdown(f: dict) -> str:
    kind = next(k for k in f["strategies"][0] if k.startswith("mean_charged_"))
    target = next(k for k in f["strategies"][0] if k.endswith("_iqm"))
    lines = [
        f"{f['benchmark']} — {f['seeds']} seeds, budget {f['budget_mode']}, detectable A12 "
        + ", ".join(f"{k} {v:.2f}" for k, v in f["detectable_a12"].items()),
        f"| strategy | {kind.replace('_', ' ')} | {target.replace('_', ' ')} [CI] | Holm p | A12 vs "
        f"{f['reference']} | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for s in f["strategies"]:
        p = "–" if s["p_holm"] is None else p_text(s["p_holm"])
        a = "–" if s["a12_vs_reference"] is None else f"{s['a12_vs_reference']:.2f}"
        lines.append(
            f"| {s['strategy']} | {s[kind]:.4g} | {s[target]:.4f} [{s[target[:-4] + '_ci'][0]:.4f}, "
            f"{s[target[:-4] + '_ci'][1]:.4f}] | {p} | {a} | {s['verdict']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    out = [figures(Path(p)) for p in sys.argv[1:]]
    for f in out:
        print(markdown(f), end="\n\n")
    print(json.dumps(out, indent=1), file=sys.stderr)
