"""What a table's search problem looks like: true scores, the exact optimum, regret, and landscape statistics.

An architecture's *true* score at λ is the score of its mean recorded validation value over the table's seeds
(queries see one seed at a time: that is the noise a search faces). Simple regret of a search after t
evaluations is the optimum's true score minus the true score of the architecture the search believes best (its
highest observed score so far); it is 0 exactly when that architecture is an optimum.

Example:
    >>> import numpy as np
    >>> from nasbench_shrink.tables.landscape import evaluations_to_top
    >>> int(evaluations_to_top(np.arange(100.0), top_fraction=0.01, repeats=200, seed=0)) > 10
    True
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nasbench_shrink.benchmarks import Benchmark
from search_spaces.cell import Cell

# A ``tables.table.Table``; not imported, since the table's lookup asks this module for its landscape.
Table = Any

__all__ = ["Landscape", "evaluations_to_top", "landscape_of", "regret_column"]


@dataclass
class Landscape:
    keys: list[str]
    cells: dict[str, Cell]
    true_score: dict[str, float]
    mean_perf: dict[str, float]
    mean_test: dict[str, float | None]
    macs: dict[str, int]
    lam: float
    space: str = "cnn"
    nodes: int = 5
    params: dict[str, int] = field(default_factory=dict)
    fronts: dict[str, Any] = field(default_factory=dict)  # the table's true fronts (``tables.fronts``)
    source: str = "the table"  # where true scores come from, for captions
    reference: str = "the table's optimum"  # what regret is taken against, for captions
    enumerated: bool = True  # every architecture is known (a table); False: only the cells shown (a surrogate)
    _top: dict = field(default_factory=dict, repr=False)  # derived figures, computed once

    def include(self, cells: Iterable[Cell]) -> None:
        """Know the true score of ``cells``: a table already knows every architecture (a surrogate's landscape
        learns them as it is shown them)."""

    @property
    def optimum(self) -> str:
        if "optimum" not in self._top:  # asked once per regret entry: computed once
            self._top["optimum"] = max(self.keys, key=lambda k: (self.true_score[k], k))  # type: ignore[index]
        return self._top["optimum"]  # type: ignore[index,return-value]

    @property
    def best_score(self) -> float:
        return self.true_score[self.optimum]

    def top(self, fraction: float = 0.01) -> frozenset[str]:
        """The ``ceil(fraction × n)`` architectures of highest true score (ties broken by key)."""
        if fraction not in self._top:
            k = max(1, math.ceil(fraction * len(self.keys)))
            self._top[fraction] = frozenset(sorted(self.keys, key=lambda a: (-self.true_score[a], a))[:k])
        return self._top[fraction]

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
    cells, macs, resource, params = {}, {}, {}, {}
    c = table.columns
    for i, key in enumerate(c["key"]):
        if c["diverged"][i] or c["perf"][i] is None:
            continue
        perf.setdefault(key, []).append(c["perf"][i])
        if c["test_perf"][i] is not None:
            test.setdefault(key, []).append(c["test_perf"][i])
        if key not in cells:
            cells[key] = Cell.from_dict(json.loads(c["cell"][i]))
            macs[key], resource[key], params[key] = c["macs"][i], c["resource"][i], c["params"][i]
    keys = sorted(perf)
    mean_perf = {k: statistics.fmean(perf[k]) for k in keys}
    return Landscape(
        keys=keys,
        cells=cells,
        lam=lam,
        macs=macs,
        mean_perf=mean_perf,
        space=table.meta["space"],
        nodes=table.meta["nodes"],
        params=params,
        fronts=table.meta.get("pareto", {}),
        mean_test={k: statistics.fmean(test[k]) if k in test else None for k in keys},
        true_score={k: bench.score(mean_perf[k], resource[k], lam=lam) for k in keys},
    )


def evaluations_to_top(scores: np.ndarray, top_fraction: float = 0.01, repeats: int = 2000, seed: int = 0) -> float:
    """Median number of uniform draws without replacement until one lands in the top ``top_fraction``.

    A property of the table's size alone (n and k fix it); ``hit_curve`` under a strategy's own proposal
    distribution is the figure that says something about the landscape."""
    n = len(scores)
    k = max(1, math.ceil(top_fraction * n))
    top = np.zeros(n, dtype=bool)
    top[np.argsort(-np.asarray(scores), kind="stable")[:k]] = True
    rng = np.random.default_rng(seed)
    firsts = [int(np.argmax(top[rng.permutation(n)])) + 1 for _ in range(repeats)]
    return float(np.median(firsts))


# ------------------------------------------------------------------------------------------ hardness figures
def random_proposal(space: str, nodes: int) -> dict[str, float]:
    """The probability of each architecture under the ``random`` strategy's proposal: every edge of the complete
    DAG kept with probability ½, every node's op uniform (``baselines.random_dag``), summed over the cells that
    share a canonical key. Exact: every edge subset, and every op assignment of its active nodes."""
    from itertools import product

    from search_spaces.cell import INPUT_OP, SPACE_OPS
    from search_spaces.space import all_edges

    edges, choices = all_edges(nodes), SPACE_OPS[space]
    w_mask = 0.5 ** len(edges)
    out: dict[str, float] = {}
    for mask in range(2 ** len(edges)):
        base = Cell(
            space, nodes, [e for b, e in enumerate(edges) if mask >> b & 1], (INPUT_OP,) + (choices[0],) * (nodes - 1)
        ).pruned()
        active = base.active_nodes[1:]
        w = w_mask / len(choices) ** len(active)  # inactive nodes' ops change nothing: summed out
        for combo in product(choices, repeat=len(active)):
            ops = list(base.ops)
            for n, op in zip(active, combo):
                ops[n] = op
            k = Cell(space, nodes, base.edges, ops).key
            out[k] = out.get(k, 0.0) + w
    return out


def hit_curve(weights: dict[str, float], top: frozenset[str] | set[str], max_evals: int) -> np.ndarray:
    """P(a top architecture is among the first b charged evaluations), b = 1..max_evals, for a strategy that
    draws architectures independently with probabilities ``weights`` and pays only for new ones (repeats are
    free: ``budget``).

    Exact up to quadrature: in the exponential race that orders first appearances, architecture i first appears
    at E_i ~ Exp(w_i) and the top set at T ~ Exp(w_top); the hit is at evaluation 1 + #{i ∉ top : E_i < T}, and
    given T = t that count is Poisson-binomial with p_i = 1 − exp(−w_i t). Integrated over u = exp(−w_top t)
    with 200-point Gauss–Legendre."""
    total = sum(weights.values())
    w_top = sum(v for k, v in weights.items() if k in top) / total
    others = np.array([v / total for k, v in weights.items() if k not in top and v > 0])
    if w_top <= 0:
        return np.zeros(max_evals)
    x, wq = np.polynomial.legendre.leggauss(200)
    u = (x + 1) / 2  # nodes on (0, 1)
    t = -np.log(u) / w_top
    p = -np.expm1(-np.outer(t, others))  # (nodes, items)
    pmf = np.zeros((len(u), max_evals))  # P(count = c | t), c < max_evals
    pmf[:, 0] = 1.0
    for i in range(p.shape[1]):
        q = p[:, i : i + 1]
        pmf[:, 1:] = pmf[:, 1:] * (1 - q) + pmf[:, :-1] * q
        pmf[:, 0] *= 1 - q[:, 0]
    cdf = np.cumsum(pmf, axis=1)  # P(count <= b - 1 | t) for b = 1..max_evals
    return np.clip((wq / 2) @ cdf, 0.0, 1.0)


def median_of(curve: np.ndarray) -> int | None:
    """The smallest b with P(hit within b) ≥ ½ (None: not within the curve's range)."""
    hit = np.nonzero(curve >= 0.5)[0]
    return int(hit[0]) + 1 if len(hit) else None


def initial_op_weights(space: str, nodes: int, seeds: int = 1000) -> dict[tuple[str, ...], float]:
    """The distribution of the complete DAG's op assignment over run seeds 0..seeds-1 (what AutoShrink and the
    complete DAG start from)."""
    from search_spaces.space import initial_ops

    out: dict[tuple[str, ...], float] = {}
    for s in range(seeds):
        ops = initial_ops(space, nodes, s)
        out[ops] = out.get(ops, 0.0) + 1.0 / seeds
    return out


def shrink_path_share(
    land: Landscape, top: frozenset[str] | set[str], op_weights: dict[tuple[str, ...], float]
) -> float:
    """The share of one-edge-removal paths from the complete DAG (each step removes one edge of the pruned cell,
    uniformly, until none is left; the start's ops drawn from ``op_weights``) that pass through a ``top``
    architecture: whether shrinking can reach the top at all, before any selection."""
    from search_spaces.space import complete_cell

    total = 0.0
    for ops, w in op_weights.items():
        start = complete_cell(land.space, land.nodes, ops=ops).pruned()
        total += w * _top_share(start, top, {})
    return total / sum(op_weights.values())


def _top_share(cell: Cell, top: set[str] | frozenset[str], memo: dict[str, float]) -> float:
    """Share of uniformly random shrink paths from ``cell`` that pass through a ``top`` cell."""
    k = cell.key
    if k not in memo:  # isomorphic cells have isomorphic futures
        if k in top:
            memo[k] = 1.0
        elif not cell.edges:
            memo[k] = 0.0
        else:
            memo[k] = float(np.mean([_top_share(c, top, memo) for _, c in cell.shrink_space()]))
    return memo[k]


def mutation_neighbours(cell: Cell) -> set[str]:
    """Keys one mutation of the evolution baseline away: flip one edge of the complete DAG, or change the op of
    one active node."""
    from search_spaces.cell import SPACE_OPS

    out = set()
    for i in range(cell.nodes):
        for j in range(i + 1, cell.nodes):
            out.add(Cell(cell.space, cell.nodes, sorted(set(cell.edges) ^ {(i, j)}), cell.ops).key)
    for n in cell.active_nodes[1:]:
        for op in SPACE_OPS[cell.space]:
            if op != cell.ops[n]:
                ops = list(cell.ops)
                ops[n] = op
                out.add(Cell(cell.space, cell.nodes, cell.edges, ops).key)
    out.discard(cell.key)
    return out


def fitness_distance(land: Landscape) -> dict[str, float]:
    """Fitness–distance correlation (Jones & Forrest 1995): Pearson r between an architecture's true score and
    its distance from the optimum, in mutations (``mutation_neighbours``, read both ways: from the mutated cell
    the same mutation leads back; BFS over the table's architectures).
    Near −1: the score rises steadily towards the optimum (easy); near 0 or positive: misleading."""
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(land.keys)
    for k in land.keys:
        g.add_edges_from((k, nb) for nb in mutation_neighbours(land.cells[k]) if nb in land.true_score)
    dist = nx.single_source_shortest_path_length(g, land.optimum)
    keys = [k for k in land.keys if k in dist]
    d = np.array([dist[k] for k in keys], dtype=float)
    f = np.array([land.true_score[k] for k in keys])
    r = float(np.corrcoef(f, d)[0, 1]) if d.std() > 0 and f.std() > 0 else math.nan
    return {"fdc": r, "max_distance": int(d.max()), "reachable": len(keys)}


def between_seed_spearman(table: Table, keys: list[str]) -> dict[str, Any]:
    """Spearman correlation of the architectures' recorded values between every pair of the table's seeds."""
    from itertools import combinations

    from scipy.stats import spearmanr

    pairs = {}
    for s0, s1 in combinations(table.seeds, 2):
        vals = [(table.row(k, s0), table.row(k, s1)) for k in keys]
        vals = [(a["perf"], b["perf"]) for a, b in vals if a and b and a["perf"] is not None and b["perf"] is not None]
        pairs[f"{s0}-{s1}"] = float(spearmanr([a for a, _ in vals], [b for _, b in vals]).statistic)
    if not pairs:
        return {}
    return {"pairs": pairs, "min": min(pairs.values()), "mean": float(np.mean(list(pairs.values())))}


def hardness(table: Table, bench: Benchmark, land: Landscape, budget_evals: int = 100) -> dict[str, Any]:
    """The figures that say how hard the table's problem is for the strategies themselves (each can fail)."""
    top = land.top(0.01)
    proposal = random_proposal(land.space, land.nodes)
    curve = hit_curve(proposal, top, max(budget_evals, 1000))
    ops = initial_op_weights(land.space, land.nodes)
    return {
        "top1pct_architectures": len(top),
        "random": {
            "p_top1pct_per_draw": sum(v for k, v in proposal.items() if k in top) / sum(proposal.values()),
            "median_evals_to_top1pct": median_of(curve),
            "p_top1pct_within": {str(b): float(curve[b - 1]) for b in sorted({25, 50, budget_evals})},
        },
        "autoshrink_paths_through_top1pct": shrink_path_share(land, top, ops),
        **{f"fitness_distance_{k}": v for k, v in fitness_distance(land).items()},
    }


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
        "benchmark": bench.name,
        "lam": land.lam,
        "architectures": len(land.keys),
        "seeds": list(table.seeds),
        "score_mean": float(scores.mean()),
        "score_std": float(scores.std()),
        "score_quantiles": {q: float(np.quantile(scores, q)) for q in (0.0, 0.25, 0.5, 0.75, 0.99, 1.0)},
        "optimum": {
            "key": opt,
            "score": land.best_score,
            "edges": len(cell.active_edges),
            "macs": land.macs[opt],
            bench.metric: land.mean_perf[opt],
            f"test_{bench.metric}": land.mean_test[opt],
            "cell": cell.to_dict(),
        },
        "uniform_evals_to_top1pct_median": evaluations_to_top(scores, 0.01),
        "local_optima_one_edge": local_optima(land),
        "pareto_front_size": len(land.pareto_front(bench.kind.higher_is_better)),
    }
    with_test = [k for k in land.keys if land.mean_test[k] is not None]
    if len(with_test) > 2:
        out[f"spearman_val_vs_test_{bench.metric}"] = float(
            spearmanr([land.mean_perf[k] for k in with_test], [land.mean_test[k] for k in with_test]).statistic
        )
    seeds = between_seed_spearman(table, land.keys)
    if seeds:
        out["spearman_between_seeds"] = seeds["mean"]
        out["spearman_between_seeds_min"] = seeds["min"]
        out["spearman_between_seed_pairs"] = seeds["pairs"]
    out["hardness"] = hardness(table, bench, land)
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
    b.scatter(
        [land.macs[k] for k in land.keys], [land.mean_perf[k] for k in land.keys], s=6, alpha=0.4, label="architectures"
    )
    front = land.pareto_front(hib)
    b.plot(
        [land.macs[k] for k in front],
        [land.mean_perf[k] for k in front],
        color="crimson",
        lw=1.5,
        drawstyle="steps-post",
        label="Pareto front",
    )
    opt = land.optimum
    b.scatter(
        [land.macs[opt]],
        [land.mean_perf[opt]],
        marker="*",
        s=160,
        color="gold",
        edgecolor="k",
        label="optimum",
        zorder=5,
    )
    b.set_xscale("log")
    b.set_xlabel("MACs (search network)")
    b.set_ylabel(f"mean proxy validation {bench.metric}")
    b.legend(loc="lower right")
    fig.suptitle(f"{bench.name}: {len(land.keys)} architectures x {len(table.seeds)} seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
