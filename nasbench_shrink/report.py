"""The comparison report: figures (seaborn) and report.md, computed only from trials.csv and summary.csv."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from search_spaces import Cell
from nasbench_shrink.errors import UserError

# Paper Table 4 (CIFAR-10, full training): accuracy %, MACs (M). Random graphs: mean ± std over 10 runs, N = 15.
PAPER_TABLE4 = [
    {"topology": "Complete-DAG", "strategy": "complete", "nodes": 8, "accuracy": "91.56", "macs_m": "105.61"},
    {"topology": "WS", "strategy": "ws", "nodes": 15, "accuracy": "90.5 ± 0.41", "macs_m": "16.04 ± 2.71"},
    {"topology": "ER", "strategy": "er", "nodes": 15, "accuracy": "92.1 ± 0.38", "macs_m": "34.40 ± 16.43"},
    {"topology": "BA", "strategy": "ba", "nodes": 15, "accuracy": "90.0 ± 0.34", "macs_m": "32.61 ± 5.96"},
    {"topology": "ShrinkCNN", "strategy": "autoshrink", "nodes": 8, "accuracy": "93.22", "macs_m": "38.20"},
]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    return plt, sns


def load(out: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    try:
        trials = pd.read_csv(out / "trials.csv")
        summary = pd.read_csv(out / "summary.csv")
    except FileNotFoundError as exc:
        raise UserError(f"{out} has no {Path(exc.filename).name}; run 'nasbench-shrink compare --out {out}' "
                        "first") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise UserError(f"a CSV in {out} is unreadable ({exc}); rerun the compare command to rewrite it") from None
    settings = {}
    if (out / "compare.json").is_file():
        settings = json.loads((out / "compare.json").read_text())
    return trials, summary, settings


def mean_std_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Mean ± std per strategy over seeds, as the report prints it."""
    cols = [c for c in ("final_test_accuracy", "final_macs", "final_params", "best_score", "search_cost_s",
                        "search_flops", "evaluations") if c in summary.columns]
    agg = summary.groupby("strategy", sort=False)[cols].agg(["mean", "std"])
    return agg


def _fmt(mean: float, std: float, scale: float = 1.0, digits: int = 3) -> str:
    if pd.isna(mean):
        return "–"
    s = "–" if pd.isna(std) else f"{std / scale:.{digits}f}"
    return f"{mean / scale:.{digits}f} ± {s}"


def anytime_figure(trials: pd.DataFrame, cost_col: str, path: Path) -> None:
    plt, sns = _plt()
    t = trials[trials["within_budget"]].copy()
    t = t.sort_values(["strategy", "seed", "trial"])
    t["best_so_far"] = t.groupby(["strategy", "seed"])["score"].cummax()
    x_col = {"train_flops": "cum_train_flops", "cost_s": "cum_cost_s", "evals": "eval_index"}[cost_col]
    hi = t[x_col].max() if len(t) else 1.0
    grid = np.linspace(0, hi, 60)[1:]
    rows = []
    for (strategy, seed), g in t.groupby(["strategy", "seed"]):
        xs, ys = g[x_col].to_numpy(), g["best_so_far"].to_numpy()
        for x in grid:
            k = np.searchsorted(xs, x, side="right") - 1
            if k >= 0:
                rows.append({"strategy": strategy, "seed": seed, "cost": x, "best score so far": ys[k]})
    long = pd.DataFrame(rows)
    fig, ax = plt.subplots(figsize=(8.5, 4.8))
    if len(long):
        sns.lineplot(long, x="cost", y="best score so far", hue="strategy", errorbar=("ci", 95), ax=ax,
                     drawstyle="steps-post")
    label = {"cum_train_flops": "cumulative charged training FLOPs", "cum_cost_s": "cumulative charged seconds",
             "eval_index": "evaluations"}[x_col]
    ax.set_xlabel(label)
    ax.set_ylabel("best proxy score so far")
    ax.set_title("Anytime performance (mean and 95% CI over seeds)")
    if ax.get_legend() is not None:
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1.0), title="strategy")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def pareto_figure(summary: pd.DataFrame, path: Path) -> None:
    plt, sns = _plt()
    fig, ax = plt.subplots(figsize=(8.0, 4.8))
    if "final_test_accuracy" in summary.columns:
        d = summary.assign(macs_m=summary["final_macs"] / 1e6, acc=100 * summary["final_test_accuracy"])
        sns.scatterplot(d, x="macs_m", y="acc", hue="strategy", style="strategy", s=80, ax=ax)
        ax.set_xscale("log")
        ax.set_xlabel("final network MACs per image (M, log scale)")
        ax.set_ylabel("final test accuracy (%)")
    else:
        d = summary.assign(macs_m=summary["best_macs"] / 1e6, acc=100 * summary["best_accuracy"])
        sns.scatterplot(d, x="macs_m", y="acc", hue="strategy", style="strategy", s=80, ax=ax)
        ax.set_xscale("log")
        ax.set_xlabel("search network MACs per image (M, log scale)")
        ax.set_ylabel("best proxy accuracy (%) (no final evaluation)")
    ax.set_title("Accuracy vs cost, one marker per run")
    if ax.get_legend() is not None:
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1.0), title="strategy")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def shrink_figure(trials: pd.DataFrame, path: Path) -> bool:
    t = trials[(trials["strategy"] == "autoshrink") & trials["step"].notna()]
    if t.empty:
        return False
    plt, sns = _plt()
    per_step = t.groupby(["seed", "step"]).agg(best_score=("score", "max"), edges=("edges", "min")).reset_index()
    fig, ax = plt.subplots(figsize=(8.0, 4.5))
    sns.lineplot(per_step, x="step", y="best_score", hue="seed", marker="o", ax=ax, palette="deep")
    ax.set_xlabel("shrink step")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("best candidate score in step")
    ax2 = ax.twinx()
    sns.lineplot(per_step, x="step", y="edges", hue="seed", linestyle="--", marker="s", ax=ax2, palette="deep",
                 legend=False)
    ax2.set_ylabel("active edges of the chosen cell (dashed)")
    ax2.grid(False)
    ax.set_title("AutoShrink: best score (solid) and edges (dashed) per step")
    if ax.get_legend() is not None:
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.12, 1.0), title="seed")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return True


def cells_figure(summary: pd.DataFrame, path: Path) -> None:
    plt, _ = _plt()
    from nasbench_shrink.draw import draw_cell

    best = summary.loc[summary.groupby("strategy", sort=False)["best_score"].idxmax()]
    n = len(best)
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.6 * rows), squeeze=False)
    for ax, (_, r) in zip(axes.flat, best.iterrows()):
        cell = Cell.from_json(r["best_cell"])
        draw_cell(cell, ax, title=f"{r['strategy']} (seed {r['seed']}): score {r['best_score']:.3f}, "
                                  f"{len(cell.active_edges)} edges")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(out: Path) -> Path:
    """Regenerate figures and report.md in ``out`` from its CSVs."""
    out = Path(out)
    trials, summary, settings = load(out)
    cfg = settings.get("settings", {})
    kind = cfg.get("budget_kind", "flops")
    cost_col = {"flops": "train_flops", "seconds": "cost_s", "evals": "evals"}[kind]
    anytime_figure(trials, cost_col, out / "anytime.png")
    pareto_figure(summary, out / "pareto.png")
    has_shrink = shrink_figure(trials, out / "shrink.png")
    cells_figure(summary, out / "cells.png")
    table = mean_std_table(summary)
    lines = [f"# Comparison on `{cfg.get('benchmark', '?')}`", ""]
    lines += ["## Settings", ""]
    budget = settings.get("resolved_budget")
    lines += [f"- strategies: {', '.join(cfg.get('strategies', []))}",
              f"- seeds: {', '.join(str(s) for s in cfg.get('seeds', []))}",
              f"- budget: {budget:.4g} charged {kind} per run"
              + (" (auto: the largest cost an AutoShrink seed needed)" if cfg.get("budget") is None else "")
              if budget is not None else "- budget: none",
              f"- final evaluation: {'yes' if cfg.get('final') else 'no'}",
              f"- storage: `{settings.get('storage')}` (open with `optuna-dashboard` or "
              f"`nasbench-shrink dashboard {out}`)",
              f"- wall time: {settings.get('wall_s', '?')} s", ""]
    lines += ["## Results (mean ± std over seeds)", ""]
    has_final = "final_test_accuracy" in summary.columns
    head = ["strategy", "final test acc (%)" if has_final else "best proxy acc (%)", "final MACs (M)",
            "final params (k)", "best proxy score", "search cost (s)", "search FLOPs (T)", "evaluations"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for strategy, r in table.iterrows():
        acc = (_fmt(r[("final_test_accuracy", "mean")], r[("final_test_accuracy", "std")], 0.01, 2) if has_final
               else _fmt(*summary[summary.strategy == strategy]["best_accuracy"].agg(["mean", "std"]), 0.01, 2))
        cells = [strategy, acc,
                 _fmt(r[("final_macs", "mean")], r[("final_macs", "std")], 1e6, 3) if has_final else "–",
                 _fmt(r[("final_params", "mean")], r[("final_params", "std")], 1e3, 1) if has_final else "–",
                 _fmt(r[("best_score", "mean")], r[("best_score", "std")]),
                 _fmt(r[("search_cost_s", "mean")], r[("search_cost_s", "std")], 1.0, 1),
                 _fmt(r[("search_flops", "mean")], r[("search_flops", "std")], 1e12, 3),
                 _fmt(r[("evaluations", "mean")], r[("evaluations", "std")], 1.0, 1)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Every number above is computed from `summary.csv` (one row per run), which is computed from "
              "`trials.csv` (trials within the budget).", ""]
    lines += ["## Figures", "", "![anytime](anytime.png)", "", "![pareto](pareto.png)", ""]
    if has_shrink:
        lines += ["![shrink](shrink.png)", ""]
    lines += ["Best cell of each strategy (bold outline: cell outputs):", "", "![cells](cells.png)", ""]
    lines += ["## The paper's Table 4, for reference", "",
              "| topology | nodes | paper acc. (%) | paper MACs (M) | ours: strategy | ours: final acc. (%) | "
              "ours: final MACs (M) |", "|---|---|---|---|---|---|---|"]
    ours = {s: r for s, r in table.iterrows()}
    for p in PAPER_TABLE4:
        r = ours.get(p["strategy"])
        acc = (_fmt(r[("final_test_accuracy", "mean")], r[("final_test_accuracy", "std")], 0.01, 2)
               if r is not None and has_final else "–")
        macs = (_fmt(r[("final_macs", "mean")], r[("final_macs", "std")], 1e6, 3)
                if r is not None and has_final else "–")
        lines.append(f"| {p['topology']} | {p['nodes']} | {p['accuracy']} | {p['macs_m']} | "
                     f"{p['strategy'] if r is not None else '–'} | {acc} | {macs} |")
    lines += ["", _paper_sentence(cfg.get("benchmark", ""), summary, has_final), ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


def _paper_sentence(benchmark: str, summary: pd.DataFrame, has_final: bool) -> str:
    if not has_final:
        return "No final evaluation was run, so nothing here is comparable with the paper's full-training numbers."
    means = summary.groupby("strategy")[["final_test_accuracy", "final_macs"]].mean()
    parts = []
    if benchmark != "cifar10-proxy":
        parts.append(f"The paper trains on full CIFAR-10; this run uses `{benchmark}`, so absolute accuracies and "
                     "MACs do not compare, only orderings can.")
    if {"autoshrink", "complete"} <= set(means.index):
        a, c = means.loc["autoshrink"], means.loc["complete"]
        parts.append(
            f"The paper's ShrinkCNN beats its complete DAG on accuracy (+1.66 points) with 2.8x fewer MACs; here "
            f"AutoShrink's final accuracy is {100 * (a.final_test_accuracy - c.final_test_accuracy):+.2f} points "
            f"against the complete DAG with {c.final_macs / max(a.final_macs, 1):.2f}x fewer MACs, so the accuracy "
            f"ordering {'matches' if a.final_test_accuracy >= c.final_test_accuracy else 'does not match'} and the "
            f"cost ordering {'matches' if a.final_macs <= c.final_macs else 'does not match'}.")
    wiring = [s for s in ("ws", "er", "ba") if s in means.index]
    if "autoshrink" in means.index and wiring:
        beaten = [s for s in wiring if means.loc["autoshrink"].final_test_accuracy >= means.loc[s].final_test_accuracy]
        parts.append(f"The paper's ShrinkCNN is more accurate than every random-graph prior; here AutoShrink is at "
                     f"least as accurate as {len(beaten)} of {len(wiring)} ({', '.join(beaten) or 'none'}).")
    return " ".join(parts)
