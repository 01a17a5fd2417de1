"""What a surrogate knows of its space: every cell's true (noise-free, predicted seed-mean) score, a best known cell
to take regret against, and a top-1 % threshold.

The N = 8 space has about 6.9·10¹⁰ cells: no one knows its optimum. The best known cell comes from long searches
on the surrogate's mean score (``best_known``: steepest-ascent hill climbing over the 35 one-bit moves — an edge
on or off, a node's op — from the complete DAG under every op assignment and from random cells), is shipped beside
the data set with the data's checksum, and is never called the optimum. The top-1 % threshold is the 99th
percentile of the true score over cells drawn as the ``random`` strategy draws them (every edge kept with
probability ½, every op uniform), so "top 1 %" means the best 1 % of random search's proposals, not of the
canonical architectures.

``SurrogateLandscape`` answers like a table's ``Landscape`` for the cells it has been shown (``include``): a
comparison shows it every cell its runs evaluated before it computes their regret.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.errors import BenchmarkError
from nasbench_shrink.tables.landscape import Landscape
from search_spaces import Cell, all_edges, random_ops

__all__ = ["BEST_SUFFIX", "SurrogateLandscape", "best_known", "load_best_known"]

BEST_SUFFIX = "-best.json"  # NAME-best.json beside NAME-data.parquet


@dataclass
class SurrogateLandscape(Landscape):
    """A ``Landscape`` over the cells shown to it, with the best known cell as its reference."""

    bench: Any = None
    source: str = "the surrogate"
    reference: str = "the surrogate's best known cell"
    enumerated: bool = False
    known: dict = field(default_factory=dict, repr=False)  # the shipped best-known file: how it was found
    threshold: float = math.inf  # top-1 % true score threshold
    best_key: str = ""
    shown: set[str] = field(default_factory=set, repr=False)

    def include(self, cells: Iterable[Cell]) -> None:
        """Know the true score of ``cells`` (their predicted seed-mean score, noise free)."""
        ev = self.bench.evaluator
        for cell in cells:
            k = cell.key
            if k in self.shown:
                continue
            macs, params, acc, test, _, _ = ev.answer(cell, self.bench)
            self.shown.add(k)
            self.keys.append(k)
            self.cells[k], self.macs[k], self.params[k] = cell, macs, params
            self.mean_perf[k], self.mean_test[k] = acc, test
            self.true_score[k] = self.bench.score(acc, self.bench.score_resource(cell, macs), lam=self.lam)
            self._top.clear()

    @property
    def optimum(self) -> str:
        return self.best_key

    def top(self, fraction: float = 0.01) -> frozenset[str]:
        """The shown cells at or above the top-1 % threshold (only ``fraction`` = 0.01 is known)."""
        if fraction != 0.01:
            raise BenchmarkError("a surrogate knows its top-1 % threshold only; ask for top(0.01)")
        if fraction not in self._top:
            self._top[fraction] = frozenset(k for k in self.keys if self.true_score[k] >= self.threshold)
        return self._top[fraction]


def _mean_score(bench: Benchmark, cell: Cell) -> float:
    macs, _, acc, _, _, _ = bench.evaluator.answer(cell, bench)
    return bench.score(acc, bench.score_resource(cell, macs))


def _neighbours(cell: Cell) -> list[Cell]:
    """Every cell one move away: one edge on or off, or one node's op changed."""
    out = []
    edges = set(cell.edges)
    for e in all_edges(cell.nodes):
        out.append(Cell(cell.space, cell.nodes, sorted(edges ^ {e}), cell.ops))
    for n in range(1, cell.nodes):
        for op in ("conv1x1", "sep3x3"):
            if op != cell.ops[n]:
                ops = list(cell.ops)
                ops[n] = op
                out.append(Cell(cell.space, cell.nodes, cell.edges, ops))
    return out


def _climb(bench: Benchmark, start: Cell, memo: dict[str, float], seen: dict[str, Cell]) -> tuple[float, Cell]:
    def score(c: Cell) -> float:
        if c.key not in memo:
            memo[c.key] = _mean_score(bench, c)
            seen[c.key] = c
        return memo[c.key]

    best, cur = score(start), start
    while True:
        nb = max(_neighbours(cur), key=lambda c: (score(c), c.key))
        if score(nb) <= best:
            return best, cur
        best, cur = score(nb), nb


def best_known_fronts(bench: Benchmark, cells: dict[str, Cell]) -> dict[str, Any]:
    """The best known fronts of (predicted seed-mean metric, MACs or params) over ``cells``, in a table's front
    format (``tables.fronts``: keys, points, normalisation, reference, hypervolume)."""
    from nasbench_shrink.objectives import COSTS
    from nasbench_shrink.objectives.pareto import hypervolume_2d
    from nasbench_shrink.tables.fronts import FRONT_RULE, REFERENCE, front_normaliser

    higher = bench.kind.higher_is_better
    keys = sorted(cells)
    answers = {k: bench.evaluator.answer(cells[k], bench) for k in keys}
    metric = np.array([answers[k][2] for k in keys])
    sign = -1.0 if higher else 1.0
    out: dict[str, Any] = {"rule": FRONT_RULE.replace("seed-mean", "predicted seed-mean"), "higher_is_better": higher}
    for cost in COSTS:
        c = np.array([answers[k][0] if cost == "macs" else answers[k][1] for k in keys], dtype=float)
        order = sorted(range(len(keys)), key=lambda i: (c[i], sign * metric[i], keys[i]))
        front, best_m = [], np.inf
        for i in order:  # a 2-D sweep: cheapest first, kept when it beats every cheaper cell's metric
            if sign * metric[i] < best_m:
                front.append(i)
                best_m = sign * metric[i]
        best = (float(metric.max() if higher else metric.min()), float(c.min()))
        worst = (float(metric.min() if higher else metric.max()), float(c.max()))
        points = np.array([[metric[i], c[i]] for i in front])
        norm = front_normaliser({"best": best, "worst": worst, "higher_is_better": higher})
        out[cost] = {
            "keys": [keys[i] for i in front],
            "cells": len(keys),
            "points": points.tolist(),
            "best": list(best),
            "worst": list(worst),
            "reference": list(REFERENCE),
            "hypervolume": hypervolume_2d(norm(points), np.array(REFERENCE)),
            "front_cells": [cells[keys[i]].to_dict() for i in front],
        }
    return out


def best_known(bench: Benchmark, random_starts: int = 100, threshold_cells: int = 20000, seed: int = 0) -> dict:
    """The best cell found by steepest-ascent climbs on the mean score, and the top-1 % threshold (see module)."""
    from itertools import product

    from rich.progress import track

    rng = random.Random(seed)
    n = bench.nodes
    memo: dict[str, float] = {}
    seen: dict[str, Cell] = {}
    starts = [Cell("cnn", n, all_edges(n), ("input", *ops)) for ops in product(("conv1x1", "sep3x3"), repeat=n - 1)]
    starts += [
        Cell("cnn", n, [e for e in all_edges(n) if rng.random() < 0.5], random_ops("cnn", n, rng))
        for _ in range(random_starts)
    ]
    best: tuple[float, Cell] | None = None
    for s in track(starts, description="climbs", transient=True):
        found = _climb(bench, s, memo, seen)
        if best is None or (found[0], found[1].key) > (best[0], best[1].key):
            best = found
    draws = []
    for _ in track(range(threshold_cells), description="threshold", transient=True):
        cell = Cell("cnn", n, [e for e in all_edges(n) if rng.random() < 0.5], random_ops("cnn", n, rng))
        draws.append(_mean_score(bench, cell))
        seen.setdefault(cell.key, cell)
    assert best is not None
    return {
        "data_sha256": bench.evaluator.surrogate.sha256,
        "lam": bench.lam,
        "best_key": best[1].key,
        "best_cell": best[1].to_dict(),
        "best_score": best[0],
        "top1pct_threshold": float(np.quantile(draws, 0.99)),
        "threshold_cells": threshold_cells,
        "climbs": len(starts),
        "cells_scored": len(seen),
        "fronts": best_known_fronts(bench, seen),
        "method": f"steepest-ascent climbs over one-bit moves from the complete DAG under all {2 ** (n - 1)} op "
        f"assignments and {random_starts} random cells (seed {seed}); threshold: 99th percentile over "
        f"{threshold_cells} random-search draws",
    }


def load_best_known(path: Path, bench: Benchmark) -> SurrogateLandscape | None:
    """The landscape of the surrogate behind ``bench`` with the shipped best known cell; ``None`` when no best
    known cell is shipped for this data set and λ (then there is no regret, only scores)."""
    if not path.is_file():
        return None
    info = json.loads(path.read_text())
    if info["data_sha256"] != bench.evaluator.surrogate.sha256 or info["lam"] != bench.lam:
        return None
    land = SurrogateLandscape(
        keys=[],
        cells={},
        true_score={},
        mean_perf={},
        mean_test={},
        macs={},
        lam=bench.lam,
        space="cnn",
        nodes=bench.nodes,
        bench=bench,
        threshold=info["top1pct_threshold"],
        best_key=info["best_key"],
        known=info,
        fronts=info.get("fronts", {}),
    )
    land.include([Cell.from_dict(info["best_cell"])])
    for front in (land.fronts[cost] for cost in ("macs", "params") if cost in land.fronts):
        land.include(Cell.from_dict(c) for c in front["front_cells"])
    return land
