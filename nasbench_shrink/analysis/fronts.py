"""How good the front of a two-objective search is, after each evaluation and at its end.

A search believes in the points it has seen that no other seen point dominates (its observed front: noisy
values, one recorded seed each). On a table that front is measured at the true, seed-mean values of its
architectures, in the table's normalised axes (``tables.fronts``): hypervolume regret = the true front's
hypervolume minus that of the believed front's architectures (0: it covers the true front), and IGD+ of those
architectures to the true front. So a lucky seed that made a poor architecture look good counts against the
search, as simple regret does for one objective. A live benchmark has no ground truth: there the observed front's
hypervolume is measured in axes normalised over every evaluation of the comparison (the same axes for every
strategy), with the reference point 10 % beyond the worst of them.

Example:
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"strategy": "s", "seed": 0, "arch_key": ["a", "b", "c"],
    ...                      "accuracy": [0.5, 0.9, 0.4], "macs": [10.0, 20.0, 30.0]})
    >>> front_columns(rows, "accuracy", "macs", higher_is_better=True)["hv"].round(3).tolist()
    [0.33, 0.81, 0.81]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nasbench_shrink.objectives.pareto import RunningFront, hypervolume_2d, igd_plus
from nasbench_shrink.tables.fronts import REFERENCE, FrontAxes, front_normaliser

__all__ = ["LIVE_COLUMN", "TRUTH_COLUMN", "front_columns", "front_summary", "fronts_figure", "run_front_points"]

TRUTH_COLUMN = "hv_regret"  # on a table: lower is better, 0 = the true front
LIVE_COLUMN = "hv"  # live: the observed front's hypervolume, higher is better


class _Axes:
    """Observed values → normalised minimisation axes, and each architecture's true point (on a table)."""

    def __init__(self, trials: pd.DataFrame, metric: str, cost: str, higher_is_better: bool, land=None) -> None:
        self.metric, self.cost, self.land, self.sign = metric, cost, land, -1.0 if higher_is_better else 1.0
        self.ref = np.array(REFERENCE)
        if land is not None:
            front = land.fronts[cost]
            self.norm = front_normaliser(front, higher_is_better)
            self.front = self.norm(np.array(front["points"]))
            self.true_hv = float(front["hypervolume"])
        else:  # the comparison's own range, the same for every strategy
            m = self._metric(trials[metric]).to_numpy(float)
            c = trials[cost].to_numpy(float)
            best, worst = (m.max(), m.min()) if higher_is_better else (m.min(), m.max())
            self.norm = FrontAxes((float(best), float(c.min())), (float(worst), float(c.max())), higher_is_better)
        self._true: dict[str, np.ndarray | None] = {}

    def _metric(self, col: pd.Series) -> pd.Series:
        worst = 0.0 if self.sign < 0 else np.inf  # a diverged run: the worst metric there is
        return col.astype(float).fillna(worst)

    def observed(self, g: pd.DataFrame) -> np.ndarray:
        return self.norm(np.column_stack([self._metric(g[self.metric]).to_numpy(), g[self.cost].to_numpy(float)]))

    def true_point(self, key: str) -> np.ndarray | None:
        """The architecture's seed-mean point (``None``: every recorded run of it diverged)."""
        if key not in self._true:
            land = self.land
            if key not in land.mean_perf:
                self._true[key] = None
            else:
                cost = land.macs[key] if self.cost == "macs" else land.params[key]
                self._true[key] = self.norm([(land.mean_perf[key], cost)])[0]
        return self._true[key]

    def believed(self, keys, points) -> RunningFront:
        run = RunningFront()
        for k, p in zip(keys, points):
            run.add(p, k)
        return run

    def truth_of(self, labels) -> np.ndarray:
        pts = [p for p in (self.true_point(k) for k in labels) if p is not None]
        return np.array(pts, dtype=float).reshape(-1, 2)


def front_columns(trials: pd.DataFrame, metric: str, cost: str, higher_is_better: bool, land=None) -> pd.DataFrame:
    """``trials`` (rows of each run in trial order) with the believed front's measure after each row:
    ``hv_regret`` on a table (``land``: its landscape, with the true fronts), else ``hv``."""
    if trials.empty:
        return trials
    axes = _Axes(trials, metric, cost, higher_is_better, land)
    out = np.empty(len(trials))
    pos = {i: n for n, i in enumerate(trials.index)}
    for _, g in trials.groupby(["strategy", "seed"], sort=False):
        run, hv = RunningFront(), 0.0
        for i, k, p in zip(g.index, g["arch_key"], axes.observed(g)):
            if run.add(p, k):
                pts = axes.truth_of(run.labels) if land is not None else np.array(run.points)
                hv = hypervolume_2d(pts, axes.ref)
            out[pos[i]] = axes.true_hv - hv if land is not None else hv
    trials = trials.copy()
    trials[TRUTH_COLUMN if land is not None else LIVE_COLUMN] = out
    return trials


def front_summary(
    g: pd.DataFrame, metric: str, cost: str, higher_is_better: bool, land=None, reference: pd.DataFrame | None = None
) -> dict[str, Any]:
    """One run's end (``g``: its trials within the budget, in order): the believed front's size and keys, its
    final hypervolume regret, IGD+ and the share of the true front's architectures in it (table), or its
    hypervolume (live; axes from ``reference``, the whole comparison's trials)."""
    axes = _Axes(reference if reference is not None else g, metric, cost, higher_is_better, land)
    run = axes.believed(g["arch_key"], axes.observed(g))
    out: dict[str, Any] = {"front_size": len(run.labels), "front_keys": " ".join(map(str, run.labels))}
    if land is not None:
        truth = axes.truth_of(run.labels)
        out["final_hv_regret"] = axes.true_hv - hypervolume_2d(truth, axes.ref)
        out["final_igd_plus"] = igd_plus(truth, axes.front)
        true_keys = set(land.fronts[cost]["keys"])
        out["true_front_found"] = len(true_keys & set(run.labels)) / len(true_keys)
    else:
        out["final_hv"] = hypervolume_2d(np.array(run.points), axes.ref)
    return out


def run_front_points(g: pd.DataFrame, summary_row, metric: str, cost: str, land=None) -> np.ndarray:
    """The (metric, cost) points of one run's believed front at its end, sorted by cost: true (seed-mean) values
    on a table, observed ones live (``g``: the run's trials)."""
    keys = str(summary_row["front_keys"]).split() if isinstance(summary_row["front_keys"], str) else []
    if land is not None:
        pts = [
            (land.mean_perf[k], land.macs[k] if cost == "macs" else land.params[k]) for k in keys if k in land.mean_perf
        ]
    else:
        first = g.drop_duplicates("arch_key").set_index("arch_key")
        pts = [(first.at[k, metric], first.at[k, cost]) for k in keys if k in first.index]
    p = np.array(pts, dtype=float).reshape(-1, 2)
    return p[np.argsort(p[:, 1], kind="stable")]


def _front_panel(ax, s: str, runs, trials, metric: str, cost: str, land, target: str, colour, scale: float) -> None:
    """Strategy ``s``'s panel: every architecture and the true front (on a table), each run's believed front at
    its end (thin), and the median run's (bold)."""
    from nasbench_shrink.analysis import style

    if land is not None:
        all_cost = [land.macs[k] if cost == "macs" else land.params[k] for k in land.keys]
        ax.scatter(
            all_cost,
            [scale * land.mean_perf[k] for k in land.keys],
            s=3,
            color="0.8",
            lw=0,
            label="all architectures",
        )
        true = np.array(land.fronts[cost]["points"])
        ax.step(true[:, 1], scale * true[:, 0], where="post", color="k", lw=1.2, label="true front")
    order = runs.sort_values([target, "seed"]).reset_index(drop=True)
    median = order.iloc[(len(order) - 1) // 2] if len(order) else None
    for _, r in runs.iterrows():
        g = trials[(trials.strategy == s) & (trials.seed == r["seed"])]
        p = run_front_points(g, r, metric, cost, land)
        if len(p):
            ax.step(p[:, 1], scale * p[:, 0], where="post", color=colour, lw=0.7, alpha=0.25)
    if median is not None:
        g = trials[(trials.strategy == s) & (trials.seed == median["seed"])]
        p = run_front_points(g, median, metric, cost, land)
        ax.step(p[:, 1], scale * p[:, 0], where="post", color=colour, lw=2.0, marker="o", ms=3.5, label="median run")
        ax.set_title(
            f"{s}\nmedian {'HV regret' if target == 'final_hv_regret' else 'HV'} "
            f"{median[target]:.3g} (seed {int(median['seed'])})",
            fontsize="small",
        )
    style.log_x(ax, engineering=True)  # 10k, 20k, 50k, 100k


def fronts_figure(
    trials: pd.DataFrame, summary: pd.DataFrame, metric: str, cost: str, higher_is_better: bool, path, land=None
) -> str:
    """One panel per strategy: every architecture and the true front (table), each run's believed front at its
    end (thin), and the median run's (bold: the run whose final measure is the median over seeds). Returns a
    sentence saying which run each panel's bold front is."""
    from nasbench_shrink.analysis import style

    strategies = list(dict.fromkeys(summary["strategy"]))
    target = "final_hv_regret" if "final_hv_regret" in summary.columns else "final_hv"
    ncols = min(4, len(strategies))
    nrows = int(np.ceil(len(strategies) / ncols))
    fig, axes = style.figure(
        width=3.1 * ncols + 0.6,
        height=2.7 * nrows + 0.4,
        nrows=nrows,
        ncols=ncols,
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    colours = style.palette(strategies)
    scale = 100.0 if higher_is_better else 1.0
    for ax in axes.flat[len(strategies) :]:
        ax.set_visible(False)
    for ax, s in zip(axes.flat, strategies):
        _front_panel(ax, s, summary[summary.strategy == s], trials, metric, cost, land, target, colours[s], scale)
    for ax in axes[-1]:
        ax.set_xlabel(f"{cost} (log)")
    for ax in axes[:, 0]:
        ax.set_ylabel(f"{'seed-mean ' if land is not None else ''}{metric}" + (" (%)" if scale == 100 else ""))
    handles, labels = axes.flat[0].get_legend_handles_labels()
    from matplotlib.lines import Line2D

    handles.append(Line2D([], [], color="0.4", lw=0.7, alpha=0.5))
    labels.append("each run (thin)")
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize="small", frameon=False)
    values = f"true values on {land.source}" if land is not None else "observed values"
    fig.suptitle(
        f"Believed fronts at the end of each run ({values}), {summary['seed'].nunique()} seeds per strategy",
        fontsize="medium",
    )
    style.save(fig, path)
    return (
        "Each panel: thin lines are every run's believed front at its end"
        + (
            " at the architectures' seed-mean values, over every architecture (grey) and the true front (black)"
            if land is not None
            else " at the observed values"
        )
        + "; the bold line is the median run's (median of the final measure over seeds)."
    )
