"""How well each zero-cost proxy ranks a table's architectures: rank correlations with bootstrap intervals,
overall and within each edge-count stratum, top-k overlap, and a figure.

Targets: the seed-mean validation metric (oriented so that higher is better) and the score at the benchmark's λ.
A stratum holds the architectures with the same number of active edges: a proxy that only counts parameters ranks
the strata apart and says little inside one, and this is where it shows. Top-k overlap: the share of the k best
architectures by the target that are among the k best by the proxy (k = 1 % and 5 % of the table).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats as st

__all__ = ["correlation_figure", "correlation_table", "proxy_frame"]


def proxy_frame(table, land, higher_is_better: bool) -> pd.DataFrame:
    """One row per architecture: its proxies, edges, seed-mean metric (higher is better) and true score."""
    names = table.meta["proxies"]["names"]
    c = table.columns
    first: dict[str, int] = {}
    for i, k in enumerate(c["key"]):
        first.setdefault(k, i)
    rows = []
    for k in land.keys:
        i = first[k]
        rows.append(
            {
                "key": k,
                "edges": c["edges"][i],
                "metric": land.mean_perf[k] if higher_is_better else -land.mean_perf[k],
                "score": land.true_score[k],
                **{n: c[f"zc_{n}"][i] for n in names},
                **{f"{n}_s": c[f"zc_{n}_s"][i] for n in names},
            }
        )
    return pd.DataFrame(rows)


def _corr(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if len(x) < 3 or np.all(x == x[0]) or np.all(y == y[0]):
        return math.nan, math.nan
    return float(st.spearmanr(x, y)[0]), float(st.kendalltau(x, y)[0])


def _boot(x: np.ndarray, y: np.ndarray, resamples: int, seed: int) -> tuple[float, float, float, float]:
    """95 % percentile intervals of Spearman and Kendall over architectures resampled with replacement."""
    rng = np.random.default_rng(seed)
    rho, tau = [], []
    for _ in range(resamples):
        i = rng.integers(0, len(x), len(x))
        r, t = _corr(x[i], y[i])
        rho.append(r)
        tau.append(t)
    rho_a, tau_a = np.array(rho), np.array(tau)

    def q(a: np.ndarray) -> tuple[float, float]:
        return np.nanpercentile(a, [2.5, 97.5]) if np.isfinite(a).any() else (math.nan, math.nan)

    (r_lo, r_hi), (t_lo, t_hi) = q(rho_a), q(tau_a)
    return float(r_lo), float(r_hi), float(t_lo), float(t_hi)


def top_overlap(proxy: np.ndarray, target: np.ndarray, fraction: float) -> float:
    k = max(1, math.ceil(fraction * len(proxy)))
    by_proxy = set(np.argsort(-proxy, kind="stable")[:k])
    by_target = set(np.argsort(-target, kind="stable")[:k])
    return len(by_proxy & by_target) / k


def correlation_table(
    frame: pd.DataFrame, names: list[str], resamples: int = 200, seed: int = 0, strata: bool = True
) -> pd.DataFrame:
    """Per proxy, target (metric, score) and stratum (``all`` and each edge count with 10+ architectures):
    Spearman ρ and Kendall τ with bootstrap 95 % intervals, n, and (overall) top-1 % / top-5 % overlap."""
    groups = [("all", frame)]
    if strata:
        groups += [(f"{e} edges", g) for e, g in frame.groupby("edges") if len(g) >= 10]
    rows = []
    for name in names:
        for target in ("metric", "score"):
            for label, g in groups:
                x, y = g[name].to_numpy(float), g[target].to_numpy(float)
                rho, tau = _corr(x, y)
                r_lo, r_hi, t_lo, t_hi = _boot(x, y, resamples if label == "all" else max(50, resamples // 4), seed)
                row: dict[str, Any] = {
                    "proxy": name,
                    "target": target,
                    "stratum": label,
                    "n": len(g),
                    "spearman": rho,
                    "spearman_lo": r_lo,
                    "spearman_hi": r_hi,
                    "kendall": tau,
                    "kendall_lo": t_lo,
                    "kendall_hi": t_hi,
                }
                if label == "all":
                    row["top1pct"] = top_overlap(x, y, 0.01)
                    row["top5pct"] = top_overlap(x, y, 0.05)
                rows.append(row)
    return pd.DataFrame(rows)


def correlation_figure(table: pd.DataFrame, path: Path, title: str) -> Path:
    """Left: Spearman ρ with the seed-mean metric, overall, with its interval; right: per edge-count stratum."""
    from nasbench_shrink.analysis import style

    fig, (a, b) = style.figure(width=13, height=4.8, ncols=2, gridspec_kw={"width_ratios": [1, 1.4]})
    t = table[(table.target == "metric") & (table.stratum == "all")].sort_values("spearman")
    a.barh(
        t["proxy"],
        t["spearman"],
        color="#1f77b4",
        xerr=[t["spearman"] - t["spearman_lo"], t["spearman_hi"] - t["spearman"]],
        capsize=3,
    )
    a.axvline(0, color="0.3", lw=0.8)
    a.set_xlabel("Spearman ρ with seed-mean validation metric (95 % bootstrap interval)")
    a.set_title("all architectures")
    s = table[(table.target == "metric") & (table.stratum != "all")]
    if len(s):
        m = s.pivot(index="proxy", columns="stratum", values="spearman").reindex(t["proxy"][::-1])
        cols = sorted(m.columns, key=lambda c: int(c.split()[0]))
        m = m[cols]
        im = b.imshow(m.to_numpy(float), cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
        b.set_xticks(range(len(cols)), [c.split()[0] for c in cols])
        b.set_yticks(range(len(m.index)), m.index)
        b.set_xlabel("active edges (stratum)")
        b.set_title("Spearman ρ within each edge-count stratum")
        for (i, j), v in np.ndenumerate(m.to_numpy(float)):
            if np.isfinite(v):
                b.text(
                    j,
                    i,
                    f"{v:.2f}",
                    ha="center",
                    va="center",
                    fontsize="x-small",
                    color="white" if abs(v) > 0.6 else "black",
                )
        b.grid(False)
        fig.colorbar(im, ax=b, shrink=0.8)
    fig.suptitle(title)
    return style.save(fig, path)
