"""The simulated-clock report: search time on W workers, from the per-W comparisons' CSVs.

Per W and strategy: the median simulated time until a run first ends a top-1 % architecture (the usual median,
the convention of every report here; a run that never reaches one counts as infinitely late there, and is
censored at the largest makespan of its comparison, so rank-based statistics stay valid), its bootstrap 95 %
interval, the share of runs that reach one, the speed-up over W = 1 (ratio of medians), the worker
utilisation (work / (W × makespan); 1 − utilisation is the idle share), and the paired Wilcoxon test with Holm's
correction and A12 against the reference strategy (AutoShrink) at the same W on the censored times.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd

from nasbench_shrink.analysis import stats, style
from nasbench_shrink.analysis.report import load, p_text
from nasbench_shrink.analysis.results import RunKind
from nasbench_shrink.benchmarks import Benchmark

__all__ = ["clock_table", "write_clock_report"]


def _median_ci(v: np.ndarray, seed: int = 0, resamples: int = 2000) -> tuple[float, float, float]:
    """The median (the usual one, as in the compare report: the mean of the two middle values for an even count;
    a run that never reached a top-1 % cell counts as infinitely late) and its percentile bootstrap interval."""
    rng = np.random.default_rng(seed)
    boots = np.sort(np.median(rng.choice(v, size=(resamples, len(v)), replace=True), axis=1))
    lo, hi = boots[int(0.025 * (resamples - 1))], boots[int(np.ceil(0.975 * (resamples - 1)))]
    return float(np.median(v)), float(lo), float(hi)


def _fmt(x: float) -> str:
    return "not reached" if not np.isfinite(x) else f"{x:.4g}"


def clock_table(summaries: dict[int, pd.DataFrame], reference: str | None) -> pd.DataFrame:
    """One row per (W, strategy) from each W's ``summary.csv`` (which holds makespan_s, busy_s and
    time_to_top1pct_s per run)."""
    rows = []
    for w, summary in sorted(summaries.items()):
        censor = float(summary["makespan_s"].max())
        s = summary.assign(t=np.where(np.isfinite(summary["time_to_top1pct_s"]), summary["time_to_top1pct_s"], np.inf))
        s["t_censored"] = np.minimum(s["t"], censor)
        tests = stats.final_table(s, {"t_censored": False}, reference, "t_censored")
        for strategy, g in s.groupby("strategy", sort=False):
            med, lo, hi = _median_ci(g["t"].to_numpy(float))
            test = tests[tests.strategy == strategy].iloc[0]
            rows.append(
                {
                    "workers": w,
                    "strategy": strategy,
                    "runs": len(g),
                    "median_s": med,
                    "lo_s": lo,
                    "hi_s": hi,
                    "reached": float(np.isfinite(g["t"]).mean()),
                    "utilisation": float((g["busy_s"] / (w * g["makespan_s"])).mean()),
                    "makespan_s": float(g["makespan_s"].median()),
                    "p_holm": test["p_holm"],
                    "a12": test["a12"],
                    "verdict": test["verdict"],
                }
            )
    table = pd.DataFrame(rows)
    base = {r.strategy: r.median_s for r in table[table.workers == table.workers.min()].itertuples()}
    one = table.workers.min() == 1
    table["speedup"] = [
        base[r.strategy] / r.median_s
        if one and np.isfinite(base[r.strategy]) and np.isfinite(r.median_s) and r.median_s > 0
        else np.nan
        for r in table.itertuples()
    ]
    span = {r.strategy: r.makespan_s for r in table[table.workers == table.workers.min()].itertuples()}
    table["makespan_speedup"] = [
        span[r.strategy] / r.makespan_s if one and r.makespan_s > 0 else np.nan for r in table.itertuples()
    ]
    table["idle_share"] = 1.0 - table["utilisation"]
    table["time_to_top1pct"] = [f"{_fmt(r.median_s)} [{_fmt(r.lo_s)}, {_fmt(r.hi_s)}]" for r in table.itertuples()]
    return table


def _figure(trials: dict[int, pd.DataFrame], path: Path) -> None:
    ws = sorted(trials)
    fig, axes = style.figure(5.0 * len(ws), 4.4, 1, len(ws), sharey=True, squeeze=False)
    palette = style.palette(next(iter(trials.values()))["strategy"])
    values = []
    for ax, w in zip(axes[0], ws):
        t = trials[w][trials[w]["within_budget"]].dropna(subset=["regret_by_clock"])
        curves = stats.anytime(t, "clock_end", "regret_by_clock", maximize=False, best_so_far=False)
        for strategy, g in curves.groupby("strategy", sort=False):
            ax.step(g["x"], g["iqm"], where="post", color=palette[strategy], label=strategy, lw=1.5)
            ax.fill_between(g["x"], g["lo"], g["hi"], step="post", color=palette[strategy], alpha=0.12, lw=0)
        values.append(curves[["iqm", "lo", "hi"]].to_numpy().ravel())
        ax.set_title(f"W = {w} worker{'s' if w > 1 else ''}")
        ax.set_xlabel("simulated wall-clock seconds")
        ax.set_xlim(left=0)
    style.regret_axis(axes[0][0], np.concatenate(values))
    axes[0][0].set_ylabel("true regret of the incumbent (IQM over seeds)")
    style.legend_outside(axes[0][-1], "strategy")
    fig.suptitle("Search time on W asynchronous workers (simulated clock): IQM regret, bootstrap 95% band")
    style.save(fig, path)


def _clock_row(r) -> str:
    """One (W, strategy) row of clock.md's table."""
    vs = (
        r.verdict
        if r.verdict in ("reference", "") or pd.isna(r.p_holm)
        else f"{r.verdict} (p {p_text(r.p_holm)}, A12 {r.a12:.2f})"
    )
    return (
        f"| {r.workers} | {r.strategy} | {r.time_to_top1pct} | {100 * r.reached:.0f} % | "
        f"{'–' if pd.isna(r.speedup) else f'{r.speedup:.2f}x'} | "
        f"{'–' if pd.isna(r.makespan_speedup) else f'{r.makespan_speedup:.2f}x'} | "
        f"{100 * r.utilisation:.0f} % | {vs} |"
    )


def _ordering_line(table: pd.DataFrame) -> tuple[str, list[int]]:
    """The ordering by median time to a top-1 % cell, among the strategies whose median run reaches one, per W,
    and whether it changes with W; and the W values."""
    order = {
        w: list(g[np.isfinite(g["median_s"])].sort_values("median_s")["strategy"]) for w, g in table.groupby("workers")
    }
    ws = sorted(order)
    line = (
        "Ordering by median time to a top-1 % cell (strategies whose median run reaches one): "
        + "; ".join(f"W = {w}: {', '.join(order[w]) or 'none'}" for w in ws)
        + ". "
        + (
            "It does not change with W."
            if all(order[a] == order[b] for a, b in itertools.pairwise(ws))
            else "It changes with W."
        )
    )
    return line, ws


def write_clock_report(parent: Path, folders: list[Path], bench: Benchmark | None = None) -> pd.DataFrame:
    """clock.csv, clock.md and clock.png in ``parent`` from the comparisons in ``folders`` (one per W)."""
    import json

    summaries, trials = {}, {}
    for f in folders:
        t, s, settings = load(Path(f))
        w = int(settings["settings"]["workers_sim"])
        summaries[w], trials[w] = s, t
        # time is tested against the strategy reproducing the paper's searched row
        shrink = RunKind.from_settings(settings, str(f)).paper_rows.get("Shrink")
    table = clock_table(summaries, shrink)
    parent = Path(parent)
    table.to_csv(parent / "clock.csv", index=False)
    _figure(trials, parent / "clock.png")
    ref = table.loc[table.verdict == "reference", "strategy"]
    reference = ref.iloc[0] if len(ref) else None
    lines = [
        f"# Search time on a simulated clock: `{bench.name if bench else '?'}`",
        "",
        "Each comparison below ran every strategy × seed on a simulated clock of W asynchronous workers (a "
        "trial takes its architecture's recorded seconds; AutoShrink's workers wait at each step's barrier). "
        "Time to top 1 %: median over seeds of the simulated seconds until a run first ends a top-1 % "
        "architecture [bootstrap 95 % interval]; a run that never does counts as not reached (and, in the "
        f"paired test against {reference or 'the reference'} at the same W, as the comparison's largest "
        "makespan). Speed-up: the W = 1 median over this W's. Utilisation: work / (W × makespan).",
        "",
        "Makespan speed-up: the same for the median run's whole search (defined even when the median run "
        "reaches no top-1 % cell).",
        "",
        "| W | strategy | time to top 1 % (s) | runs reaching it | speed-up | makespan speed-up | utilisation | "
        f"vs {reference or '–'} (Holm p, A12) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [_clock_row(r) for r in table.itertuples()]
    lines += [
        "",
        "![clock](clock.png)",
        "",
        "The comparisons: "
        + ", ".join(f"[W = {w}]({Path(f).name}/report.md)" for w, f in zip(sorted(summaries), folders)),
        "",
    ]
    ordering, ws = _ordering_line(table)
    lines.append(ordering)
    (parent / "clock.md").write_text("\n".join(lines) + "\n")
    (parent / "clock.json").write_text(json.dumps({"workers": ws, "folders": [str(f) for f in folders]}))
    return table
