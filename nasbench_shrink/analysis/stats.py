"""The statistics of a comparison, computed from ``trials.csv`` / ``summary.csv`` only.

Following the practice of Syne Tune's and HPOBench's benchmarking tools and the NAS best-practices checklist
(Lindauer & Hutter, JMLR 2020): each run's best-so-far is a step function resampled on one common grid before
aggregating (so no aggregated curve can move the wrong way); curves aggregate with the interquartile mean and a
bootstrap 95 % band; strategies are ranked per seed; the final comparison with the reference strategy is a paired
Wilcoxon signed-rank test over seeds, Holm-corrected across strategies, with the Vargha–Delaney A12 effect size.

Example:
    >>> from nasbench_shrink.analysis.stats import holm, iqm, vargha_delaney_a12
    >>> round(iqm([1, 2, 3, 4, 100]), 3), holm([0.01, 0.04, 0.03]), vargha_delaney_a12([2, 3], [1, 2])
    (3.0, [0.03, 0.06, 0.06], 0.875)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats as st

__all__ = [
    "anytime",
    "bootstrap_bands",
    "bootstrap_ci",
    "detectable_a12",
    "final_table",
    "holm",
    "iqm",
    "mean_rank",
    "paired_test",
    "seeds_for_power",
    "step_values",
    "vargha_delaney_a12",
    "wilcoxon_pvalues",
]


def iqm(values: Sequence[float]) -> float:
    """Interquartile mean: the mean of the middle 50 % (robust, yet uses more than the median)."""
    x = np.asarray(values, dtype=float)
    return float(st.trim_mean(x, 0.25)) if len(x) else math.nan


def bootstrap_ci(
    values: Sequence[float], level: float = 0.95, seed: int = 0, resamples: int = 2000
) -> tuple[float, float]:
    """Percentile bootstrap interval of the IQM (``scipy.stats.bootstrap``); a point for fewer than 2 values."""
    x = np.asarray(values, dtype=float)
    if len(x) < 2 or np.all(x == x[0]):
        v = iqm(x)
        return v, v
    res = st.bootstrap(
        (x,),
        lambda a, axis=-1: st.trim_mean(a, 0.25, axis=axis),
        confidence_level=level,
        n_resamples=resamples,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    point = iqm(x)  # a percentile interval can miss a skewed sample's own IQM by a hair: the band always holds it
    return min(float(res.confidence_interval.low), point), max(float(res.confidence_interval.high), point)


def step_values(
    xs: np.ndarray, ys: np.ndarray, grid: np.ndarray, maximize: bool, best_so_far: bool = True
) -> np.ndarray:
    """A run's best-so-far (``best_so_far=False``: its latest value, for a column that already states the run's
    position, such as its believed front's hypervolume regret) as a step function of cost, read at ``grid`` (NaN
    before its first evaluation)."""
    order = np.argsort(xs, kind="stable")
    xs, ys = np.asarray(xs, float)[order], np.asarray(ys, float)[order]
    best = ys if not best_so_far else np.maximum.accumulate(ys) if maximize else np.minimum.accumulate(ys)
    idx = np.searchsorted(xs, grid, side="right") - 1
    out = np.where(idx >= 0, best[np.clip(idx, 0, None)], np.nan)
    return out


def _grid(trials: pd.DataFrame, x_col: str, points: int) -> np.ndarray:
    # start where every run has an evaluation: before that an aggregate would mix different sets of runs
    start = trials.groupby(["strategy", "seed"])[x_col].min().max()
    stop = trials[x_col].max()
    if not np.isfinite(start) or stop <= start:
        return np.array([stop], dtype=float)
    return np.linspace(start, stop, points)


def _per_run(
    trials: pd.DataFrame, x_col: str, y_col: str, maximize: bool, grid: np.ndarray, best_so_far: bool = True
) -> pd.DataFrame:
    keys, values = [], []
    for key, g in trials.groupby(["strategy", "seed"], sort=False):
        keys.append(key)
        values.append(step_values(g[x_col].to_numpy(), g[y_col].to_numpy(), grid, maximize, best_so_far))
    if not keys:
        return pd.DataFrame(columns=["strategy", "seed", "x", "value"])
    n = len(grid)  # one block of grid points per run, built as columns (a frame of dicts is slow at 1,000s of runs)
    return pd.DataFrame(
        {
            "strategy": np.repeat(np.array([k[0] for k in keys], dtype=object), n),
            "seed": np.repeat(np.array([k[1] for k in keys]), n),
            "x": np.tile(np.asarray(grid, dtype=float), len(keys)),
            "value": np.concatenate([np.asarray(v, dtype=float) for v in values]),
        }
    )


def bootstrap_bands(
    matrix: np.ndarray, level: float = 0.95, seed: int = 0, resamples: int = 500
) -> tuple[np.ndarray, np.ndarray]:
    """``bootstrap_ci`` of every row of ``matrix`` (rows = grid points, columns = runs) in one vectorised call:
    the same seeds are resampled for every grid point, as the runs are the sampled unit."""
    m = np.asarray(matrix, dtype=float)
    point = st.trim_mean(m, 0.25, axis=1)
    if m.shape[1] < 2:
        return point, point
    res = st.bootstrap(
        (m,),
        lambda a, axis=-1: st.trim_mean(a, 0.25, axis=axis),
        axis=1,
        confidence_level=level,
        n_resamples=resamples,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    lo = np.where(np.isfinite(res.confidence_interval.low), res.confidence_interval.low, point)
    hi = np.where(np.isfinite(res.confidence_interval.high), res.confidence_interval.high, point)
    return np.minimum(lo, point), np.maximum(hi, point)


def anytime(
    trials: pd.DataFrame, x_col: str, y_col: str, maximize: bool, points: int = 60, best_so_far: bool = True
) -> pd.DataFrame:
    """Per strategy and grid point: IQM over seeds of the best-so-far (or latest value), and its bootstrap 95 %
    band."""
    grid = _grid(trials, x_col, points)
    per = _per_run(trials, x_col, y_col, maximize, grid, best_so_far)
    out = []
    for strategy, g in per.groupby("strategy", sort=False):
        m = g.pivot(index="x", columns="seed", values="value").reindex(grid)
        if not m.isna().to_numpy().any():  # every run at every point: one call for the whole curve
            mid, (lo, hi) = st.trim_mean(m.to_numpy(), 0.25, axis=1), bootstrap_bands(m.to_numpy())
            out += [
                {"strategy": strategy, "x": x, "iqm": float(v), "lo": float(a), "hi": float(b), "runs": m.shape[1]}
                for x, v, a, b in zip(grid, mid, lo, hi)
            ]
            continue
        for x, row in m.iterrows():
            v = row.dropna().to_numpy()
            lo, hi = bootstrap_ci(v, resamples=500)
            out.append({"strategy": strategy, "x": x, "iqm": iqm(v), "lo": lo, "hi": hi, "runs": len(v)})
    return pd.DataFrame(out)


def mean_rank(
    trials: pd.DataFrame, x_col: str, y_col: str, maximize: bool, points: int = 60, best_so_far: bool = True
) -> pd.DataFrame:
    """Per strategy and grid point: the strategy's rank among strategies on each seed (1 = best, ties share
    the mean rank), averaged over seeds."""
    grid = _grid(trials, x_col, points)
    per = _per_run(trials, x_col, y_col, maximize, grid, best_so_far)
    per["rank"] = per.groupby(["seed", "x"])["value"].rank(ascending=not maximize, method="average")
    return per.groupby(["strategy", "x"], sort=False)["rank"].mean().reset_index(name="mean_rank")


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (step-down, monotone, capped at 1)."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.empty(m)
    running = 0.0
    for i, k in enumerate(order):
        running = max(running, (m - i) * p[k])
        adj[k] = min(1.0, running)
    return [float(round(a, 12)) for a in adj]


def vargha_delaney_a12(a: Sequence[float], b: Sequence[float]) -> float:
    """P(A > B) + ½ P(A = B) over all pairs: 0.5 no effect; > 0.5 A tends to be larger."""
    x, y = np.asarray(a, float)[:, None], np.asarray(b, float)[None, :]
    return float(((x > y).sum() + 0.5 * (x == y).sum()) / (x.size * y.size))


def a12_ci(a: Sequence[float], b: Sequence[float], resamples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Bootstrap 95 % interval of A12 for paired samples (the seeds resampled, their pairs kept): what effects the
    data still allow, the other half of a 'not significant'. A12 from ranks, so thousands of seeds stay cheap."""
    x, y = np.asarray(a, float), np.asarray(b, float)
    n = len(x)
    if n < 2:
        return math.nan, math.nan
    idx = np.random.default_rng(seed).integers(0, n, (resamples, n))
    ranks = st.rankdata(np.concatenate([x[idx], y[idx]], axis=1), axis=1)
    vals = (ranks[:, :n].sum(axis=1) - n * (n + 1) / 2) / (n * n)
    return float(np.quantile(vals, 0.025)), float(np.quantile(vals, 0.975))


def paired_test(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired samples (1.0 when every pair is equal)."""
    d = np.asarray(a, float) - np.asarray(b, float)
    if len(d) == 0 or np.all(d == 0):
        return 1.0
    return float(st.wilcoxon(a, b, zero_method="wilcox", alternative="two-sided").pvalue)


def final_table(
    summary: pd.DataFrame, columns: dict[str, bool], reference: str | None, test_column: str, alpha: float = 0.05
) -> pd.DataFrame:
    """One row per strategy: IQM and bootstrap CI of each of ``columns`` (name → higher is better), and the paired
    test against ``reference`` on ``test_column`` (same seeds paired; Holm across strategies; A12)."""
    rows = []
    strategies = list(dict.fromkeys(summary["strategy"]))
    for s in strategies:
        g = summary[summary.strategy == s]
        row: dict = {"strategy": s, "seeds": len(g)}
        for col in columns:
            if col in g.columns:
                v = g[col].dropna().to_numpy(dtype=float)
                lo, hi = bootstrap_ci(v)
                row[col] = iqm(v)
                row[f"{col}_lo"], row[f"{col}_hi"] = lo, hi
        rows.append(row)
    table = pd.DataFrame(rows)
    table["p"] = math.nan
    table["p_holm"] = math.nan
    table["a12"] = math.nan
    table["a12_lo"] = math.nan
    table["a12_hi"] = math.nan
    table["verdict"] = ""
    if reference is None or reference not in strategies or test_column not in summary.columns:
        return table
    higher = columns.get(test_column, True)
    ref = summary[summary.strategy == reference].set_index("seed")[test_column]
    others = [s for s in strategies if s != reference]
    ps = []
    for s in others:
        mine = summary[summary.strategy == s].set_index("seed")[test_column]
        seeds = sorted(set(ref.index) & set(mine.index))
        a, b = mine.loc[seeds].to_numpy(float), ref.loc[seeds].to_numpy(float)
        ps.append(paired_test(a, b))
        a12 = vargha_delaney_a12(a, b)
        lo, hi = a12_ci(a, b)
        lo, hi = (lo, hi) if higher else (1.0 - hi, 1.0 - lo)
        table.loc[table.strategy == s, ["p", "a12", "a12_lo", "a12_hi"]] = [
            ps[-1],
            a12 if higher else 1.0 - a12,
            lo,
            hi,
        ]
    for s, p_adj in zip(others, holm(ps)):
        a12 = float(table.loc[table.strategy == s, "a12"].iloc[0])
        verdict = "not significant" if p_adj >= alpha else ("better" if a12 > 0.5 else "worse")
        table.loc[table.strategy == s, ["p_holm", "verdict"]] = [p_adj, verdict]
    table.loc[table.strategy == reference, "verdict"] = "reference"
    return table


def wilcoxon_pvalues(d: np.ndarray) -> np.ndarray:
    """Two-sided Wilcoxon signed-rank p-values of every row of paired differences ``d`` at once: zero
    differences dropped (``zero_method="wilcox"``), normal approximation with the tie correction (scipy's
    large-sample form; what a power simulation needs is speed and the same decision rule)."""
    d = np.asarray(d, dtype=float)
    a = np.abs(d)
    nonzero = a > 0
    n_r = nonzero.sum(axis=1)
    ranked = np.where(nonzero, a, -1.0)  # zeros rank first; their ranks are then taken off the others
    ranks = st.rankdata(ranked, axis=1, method="average") - (~nonzero).sum(axis=1, keepdims=True)
    t_plus = np.where(d > 0, ranks, 0.0).sum(axis=1)
    srt = np.sort(ranked, axis=1)
    new = np.ones_like(srt, dtype=bool)
    new[:, 1:] = srt[:, 1:] != srt[:, :-1]
    group = np.cumsum(new, axis=1) - 1
    counts = np.zeros(srt.shape, dtype=float)
    rows = np.repeat(np.arange(srt.shape[0])[:, None], srt.shape[1], axis=1)
    np.add.at(counts, (rows[srt > 0], group[srt > 0]), 1.0)
    ties = (counts**3 - counts).sum(axis=1)
    mean = n_r * (n_r + 1) / 4.0
    var = n_r * (n_r + 1) * (2 * n_r + 1) / 24.0 - ties / 48.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, (t_plus - mean) / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)
    return np.where(n_r > 0, 2.0 * st.norm.sf(np.abs(z)), 1.0)


def _quantile_of(values: Sequence[float] | None) -> Callable[[np.ndarray], np.ndarray] | None:
    """Z ↦ Q(Φ(Z)) with Q the empirical quantile function of ``values`` (ties kept); the identity for None (a
    continuous, tie-free distribution: A12 and the signed-rank test see ranks only). None if ``values`` has fewer
    than two distinct values."""
    if values is None:
        return lambda z: z
    v = np.sort(np.asarray(values, dtype=float))
    v = v[np.isfinite(v)]
    if len(np.unique(v)) < 2:
        return None

    def quantile(z: np.ndarray) -> np.ndarray:
        idx = np.minimum((st.norm.cdf(z) * len(v)).astype(int), len(v) - 1)
        return v[idx]

    return quantile


def _a12_at(quantile: Callable[[np.ndarray], np.ndarray], delta: float, big1: np.ndarray, big2: np.ndarray) -> float:
    """P(Y > X) + ½ P(Y = X) for X = Q(Φ(Z₁)), Y = Q(Φ(Z₂ + δ)), from the normal samples ``big1``, ``big2``."""
    x, y = quantile(big1), quantile(big2 + delta)
    return float((y > x).mean() + 0.5 * (y == x).mean())


def detectable_a12(
    values: Sequence[float], n: int, alpha: float = 0.05, power: float = 0.8, sims: int = 1000, seed: int = 0
) -> float:
    """The smallest A12 that the paired two-sided Wilcoxon test at level ``alpha`` detects with ``power`` over
    ``n`` seeds, simulated from the empirical distribution of ``values`` (e.g. a comparison's final regrets).

    Pairs are drawn through a Gaussian copula: X = Q(Φ(Z₁)), Y = Q(Φ(Z₂ + δ)) with Q the empirical quantile
    function of ``values`` (its ties kept) and Z₁, Z₂ independent, so pairs carry no shared seed effect (a
    conservative assumption: pairing can only help). δ is found by bisection with common random numbers; the
    A12 reported is P(Y > X) + ½ P(Y = X) at that δ. NaN when ``values`` has fewer than two distinct values.
    """
    quantile = _quantile_of(values)
    if n < 2 or quantile is None:
        return math.nan
    rng = np.random.default_rng(seed)
    z1, z2 = rng.standard_normal((sims, n)), rng.standard_normal((sims, n))
    big1, big2 = rng.standard_normal(200_000), rng.standard_normal(200_000)

    def power_at(delta: float) -> float:
        return float((wilcoxon_pvalues(quantile(z2 + delta) - quantile(z1)) < alpha).mean())

    lo, hi = 0.0, 1.0
    while power_at(hi) < power:
        lo, hi = hi, hi * 2
        if hi > 64:
            return math.nan
    for _ in range(14):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if power_at(mid) < power else (lo, mid)
    return _a12_at(quantile, hi, big1, big2)


def seeds_for_power(
    a12: float,
    alpha: float = 0.05,
    power: float = 0.8,
    values: Sequence[float] | None = None,
    sims: int = 1000,
    seed: int = 0,
    most: int = 20_000,
) -> int:
    """The fewest seeds at which the paired two-sided Wilcoxon test at level ``alpha`` detects an effect of
    ``a12`` with ``power``: the inverse of ``detectable_a12``, with the same copula simulation (δ set so that
    P(Y > X) + ½ P(Y = X) = ``a12``, then the smallest n whose simulated power reaches ``power``, with common
    random numbers across n). ``values``: the distribution the pairs are drawn from; None, a tie-free one (the
    test and A12 see ranks only, so only ties in ``values`` change the answer)."""
    if not 0.5 < a12 < 1.0:
        raise ValueError(f"a12 must lie strictly between 0.5 and 1 (got {a12})")
    quantile = _quantile_of(values)
    if quantile is None:
        raise ValueError("values need at least two distinct values")
    rng = np.random.default_rng(seed)
    big1, big2 = rng.standard_normal(200_000), rng.standard_normal(200_000)
    lo_d, hi_d = 0.0, 1.0
    while _a12_at(quantile, hi_d, big1, big2) < a12:
        lo_d, hi_d = hi_d, hi_d * 2
        if hi_d > 64:
            raise ValueError(f"no shift of these values reaches A12 {a12}")
    for _ in range(30):
        mid = (lo_d + hi_d) / 2
        lo_d, hi_d = (mid, hi_d) if _a12_at(quantile, mid, big1, big2) < a12 else (lo_d, mid)
    delta, first = hi_d, rng.integers(2**32)

    def power_at(n: int) -> float:
        # seed i's pair is draws 2i and 2i + 1 of one stream: every n sees the same first pairs
        z = np.random.default_rng(first).standard_normal((2 * n, sims)).T
        return float((wilcoxon_pvalues(quantile(z[:, 1::2] + delta) - quantile(z[:, 0::2])) < alpha).mean())

    lo, hi = 1, 16
    while power_at(hi) < power:
        lo, hi = hi, hi * 2
        if hi > most:
            raise ValueError(f"more than {most} seeds would be needed to detect A12 {a12}")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if power_at(mid) < power else (lo, mid)
    return hi
