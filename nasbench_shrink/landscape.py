"""What a table's search problem looks like: true scores, the exact optimum, regret, and landscape statistics.

An architecture's *true* score at λ is the score of its mean recorded validation value over the table's seeds
(queries see one seed at a time: that is the noise a search faces). Simple regret of a search after t
evaluations is the optimum's true score minus the true score of the architecture the search believes best (its
highest observed score so far); it is 0 exactly when that architecture is an optimum.

Example:
    >>> import numpy as np
    >>> from nasbench_shrink.landscape import evaluations_to_top
    >>> int(evaluations_to_top(np.arange(100.0), top_fraction=0.01, repeats=200, seed=0)) > 10
    True
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from typing import Any

import numpy as np

from search_spaces.cell import Cell
from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.tabular import Table

__all__ = ["Landscape", "landscape_of", "evaluations_to_top", "regret_column"]


@dataclass
class Landscape:
    keys: list[str]
    cells: dict[str, Cell]
    true_score: dict[str, float]
    mean_perf: dict[str, float]
    mean_test: dict[str, float | None]
    macs: dict[str, int]
    lam: float

    @property
    def optimum(self) -> str:
        return max(self.keys, key=lambda k: (self.true_score[k], k))

    @property
    def best_score(self) -> float:
        return self.true_score[self.optimum]

    def pareto_front(self, higher_is_better: bool = True) -> list[str]:
        """Architectures not dominated in (mean validation metric, MACs)."""
        sign = 1.0 if higher_is_better else -1.0
        order = sorted(self.keys, key=lambda k: (self.macs[k], -sign * self.mean_perf[k]))
        front, best = [], -math.inf
        for k in order:
            v = sign * self.mean_perf[k]
            if v > best:
                front.append(k)
                best = v
        return front


_KNOWN: dict[tuple, Landscape] = {}


def landscape_of(table: Table, bench: Benchmark, lam: float | None = None) -> Landscape:
    """The true score of every architecture in ``table`` at ``lam`` (default: the benchmark's λ); computed once
    per process (a comparison needs it for the regret column and again for its report)."""
    lam = bench.lam if lam is None else lam
    known = (table.meta["sha256"], bench.name, bench.fidelity_key("proxy"), lam)
    if known not in _KNOWN:
        _KNOWN[known] = _landscape(table, bench, lam)
    return _KNOWN[known]


def _landscape(table: Table, bench: Benchmark, lam: float) -> Landscape:
    perf: dict[str, list[float]] = {}
    test: dict[str, list[float]] = {}
    cells, macs, resource = {}, {}, {}
    c = table.columns
    for i, key in enumerate(c["key"]):
        if c["diverged"][i] or c["perf"][i] is None:
            continue
        perf.setdefault(key, []).append(c["perf"][i])
        if c["test_perf"][i] is not None:
            test.setdefault(key, []).append(c["test_perf"][i])
        if key not in cells:
            cells[key] = Cell.from_dict(json.loads(c["cell"][i]))
            macs[key], resource[key] = c["macs"][i], c["resource"][i]
    keys = sorted(perf)
    mean_perf = {k: statistics.fmean(perf[k]) for k in keys}
    return Landscape(keys=keys, cells=cells, lam=lam, macs=macs, mean_perf=mean_perf,
                     mean_test={k: statistics.fmean(test[k]) if k in test else None for k in keys},
                     true_score={k: bench.score(mean_perf[k], resource[k], lam=lam) for k in keys})


def evaluations_to_top(scores: np.ndarray, top_fraction: float = 0.01, repeats: int = 2000, seed: int = 0) -> float:
    """Median number of uniform draws without replacement until one lands in the top ``top_fraction``."""
    n = len(scores)
    k = max(1, int(math.ceil(top_fraction * n)))
    top = np.zeros(n, dtype=bool)
    top[np.argsort(-np.asarray(scores), kind="stable")[:k]] = True
    rng = np.random.default_rng(seed)
    firsts = [int(np.argmax(top[rng.permutation(n)])) + 1 for _ in range(repeats)]
    return float(np.median(firsts))


def regret_column(keys_in_order: list[str], observed: list[float], land: Landscape) -> list[float]:
    """Simple regret after each evaluation of one run (trial order): optimum minus the incumbent's true score."""
    out, best_obs, incumbent = [], -math.inf, None
    for key, obs in zip(keys_in_order, observed):
        if obs is not None and obs > best_obs and key in land.true_score:
            best_obs, incumbent = obs, key
        out.append(math.nan if incumbent is None else land.best_score - land.true_score[incumbent])
    return out


def local_optima(land: Landscape) -> int:
    """Architectures whose true score no one-edge removal or addition (same ops) improves."""
    by_key = land.true_score
    count = 0
    for k in land.keys:
        cell = land.cells[k]
        n = cell.nodes
        better = False
        for i in range(n):
            for j in range(i + 1, n):
                edges = set(cell.edges) ^ {(i, j)}
                nb = Cell(cell.space, n, sorted(edges), cell.ops).key
                if nb != k and by_key.get(nb, -math.inf) > by_key[k]:
                    better = True
                    break
            if better:
                break
        count += not better
    return count


def summary(table: Table, bench: Benchmark, lam: float | None = None) -> dict[str, Any]:
    """The landscape numbers ``nasbench-shrink landscape`` prints."""
    from scipy.stats import spearmanr

    land = landscape_of(table, bench, lam)
    opt = land.optimum
    cell = land.cells[opt]
    scores = np.array([land.true_score[k] for k in land.keys])
    out: dict[str, Any] = {
        "benchmark": bench.name, "lam": land.lam, "architectures": len(land.keys), "seeds": list(table.seeds),
        "score_mean": float(scores.mean()), "score_std": float(scores.std()),
        "score_quantiles": {q: float(np.quantile(scores, q)) for q in (0.0, 0.25, 0.5, 0.75, 0.99, 1.0)},
        "optimum": {"key": opt, "score": land.best_score, "edges": len(cell.active_edges), "macs": land.macs[opt],
                    bench.metric: land.mean_perf[opt], f"test_{bench.metric}": land.mean_test[opt],
                    "cell": cell.to_dict()},
        "random_search_evals_to_top1pct_median": evaluations_to_top(scores, 0.01),
        "local_optima_one_edge": local_optima(land),
        "pareto_front_size": len(land.pareto_front(bench.kind.higher_is_better)),
    }
    with_test = [k for k in land.keys if land.mean_test[k] is not None]
    if len(with_test) > 2:
        out[f"spearman_val_vs_test_{bench.metric}"] = float(spearmanr(
            [land.mean_perf[k] for k in with_test], [land.mean_test[k] for k in with_test]).statistic)
    if len(table.seeds) >= 2:
        s0, s1 = table.seeds[:2]
        pairs = [(table.row(k, s0), table.row(k, s1)) for k in land.keys]
        pairs = [(a["perf"], b["perf"]) for a, b in pairs
                 if a and b and a["perf"] is not None and b["perf"] is not None]
        out["spearman_between_seeds"] = float(spearmanr([a for a, _ in pairs], [b for _, b in pairs]).statistic)
    return out


def landscape_figure(table: Table, bench: Benchmark, path, lam: float | None = None) -> None:
    """Score distribution (optimum marked) and accuracy vs MACs with the Pareto front, as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    land = landscape_of(table, bench, lam)
    scores = [land.true_score[k] for k in land.keys]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    sns.histplot(scores, bins=60, ax=a)
    a.axvline(land.best_score, color="crimson", lw=1.5, label="optimum")
    a.axvline(float(np.quantile(scores, 0.99)), color="k", ls="--", lw=1, label="top 1 %")
    a.set_xlabel(f"true score at λ = {land.lam:g} (mean over seeds)")
    a.set_ylabel("architectures")
    a.legend()
    hib = bench.kind.higher_is_better
    b.scatter([land.macs[k] for k in land.keys], [land.mean_perf[k] for k in land.keys], s=6, alpha=0.4,
              label="architectures")
    front = land.pareto_front(hib)
    b.plot([land.macs[k] for k in front], [land.mean_perf[k] for k in front], color="crimson", lw=1.5,
           drawstyle="steps-post", label="Pareto front")
    opt = land.optimum
    b.scatter([land.macs[opt]], [land.mean_perf[opt]], marker="*", s=160, color="gold", edgecolor="k",
              label="optimum", zorder=5)
    b.set_xscale("log")
    b.set_xlabel("MACs (search network)")
    b.set_ylabel(f"mean proxy validation {bench.metric}")
    b.legend(loc="lower right")
    fig.suptitle(f"{bench.name}: {len(land.keys)} architectures x {len(table.seeds)} seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
