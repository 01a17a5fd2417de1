"""A table's ground truth for accuracy against cost: the exact Pareto fronts and the hypervolume reference.

For each cost axis (MACs, params) the front is the set of architectures that no other architecture dominates in
(seed-mean validation metric, cost), over the rows that did not diverge. Every hypervolume is measured in
normalised axes, fixed by the table so that every user measures against the same front:

- metric: the best seed-mean value in the table ↦ 0, the worst ↦ 1;
- cost: the smallest value ↦ 0, the largest ↦ 1;
- reference point: (1.1, 1.1) in those axes, i.e. 10 % of each range beyond the worst metric and the largest
  cost, so that the extreme architectures (the most accurate is also the largest) still add volume.

The fronts are written into the table's metadata and covered by its sha256.

Example:
    >>> f = true_fronts(["a", "a", "b", "c"], [0.9, 0.7, 0.6, 0.5], [False] * 4, [30, 30, 20, 40], [3, 3, 2, 4],
    ...                 higher_is_better=True)
    >>> f["macs"]["keys"], f["macs"]["points"]
    (['b', 'a'], [[0.6, 20.0], [0.8, 30.0]])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nasbench_shrink.objectives import COSTS
from nasbench_shrink.objectives.pareto import Normaliser, hypervolume_2d

__all__ = ["FRONT_RULE", "REFERENCE", "FrontAxes", "front_normaliser", "true_fronts"]

REFERENCE = (1.1, 1.1)
FRONT_RULE = (
    "front: architectures not dominated in (seed-mean validation metric over non-diverged rows, cost); "
    "normalised axes: best metric -> 0 and worst -> 1, smallest cost -> 0 and largest -> 1; hypervolume "
    "reference point (1.1, 1.1) in those axes"
)


def true_fronts(
    keys: Sequence[str],
    perf: Sequence[float | None],
    diverged: Sequence[bool],
    macs: Sequence[float],
    params: Sequence[float],
    higher_is_better: bool,
) -> dict[str, Any]:
    """The table's fronts per cost axis (``COSTS``): keys and (metric, cost) points sorted by cost, the
    normalisation, the reference point and the front's hypervolume; computed from the table's columns."""
    sums: dict[str, list[float]] = {}
    cost_of: dict[str, dict[str, float]] = {c: {} for c in COSTS}
    for k, p, d, m, n in zip(keys, perf, diverged, macs, params):
        if d or p is None:
            continue
        sums.setdefault(k, []).append(float(p))
        cost_of["macs"].setdefault(k, float(m))
        cost_of["params"].setdefault(k, float(n))
    ordered = sorted(sums)
    mean = {k: float(np.mean(sums[k])) for k in ordered}
    sign = -1.0 if higher_is_better else 1.0  # minimisation form of the metric
    out: dict[str, Any] = {"rule": FRONT_RULE, "higher_is_better": higher_is_better}
    for cost in COSTS:
        if not ordered:
            out[cost] = {"keys": [], "points": []}
            continue
        metric = np.array([mean[k] for k in ordered])
        c = np.array([cost_of[cost][k] for k in ordered])
        best = (float(metric.max() if higher_is_better else metric.min()), float(c.min()))
        worst = (float(metric.min() if higher_is_better else metric.max()), float(c.max()))
        mins = np.column_stack([sign * metric, c])
        front = [
            i
            for i in range(len(ordered))
            if not np.any(np.all(mins <= mins[i], axis=1) & np.any(mins < mins[i], axis=1))
        ]
        front.sort(key=lambda i: (c[i], sign * metric[i], ordered[i]))
        norm = front_normaliser({"best": best, "worst": worst, "higher_is_better": higher_is_better})
        points = np.array([[metric[i], c[i]] for i in front])
        out[cost] = {
            "keys": [ordered[i] for i in front],
            "points": points.tolist(),
            "best": list(best),
            "worst": list(worst),
            "reference": list(REFERENCE),
            "hypervolume": hypervolume_2d(norm(points), np.array(REFERENCE)),
        }
    return out


def front_normaliser(front: dict[str, Any], higher_is_better: bool | None = None) -> FrontAxes:
    """The normalised axes of a stored front (``true_fronts``' entry for one cost)."""
    hib = front.get("higher_is_better", higher_is_better)
    return FrontAxes(tuple(front["best"]), tuple(front["worst"]), bool(True if hib is None else hib))


class FrontAxes:
    """(metric, cost) in the study's own units ↦ normalised minimisation axes of a table's front."""

    def __init__(self, best: tuple[float, float], worst: tuple[float, float], higher_is_better: bool) -> None:
        self.sign = -1.0 if higher_is_better else 1.0
        self._norm = Normaliser((self.sign * best[0], best[1]), (self.sign * worst[0], worst[1]))

    def __call__(self, points) -> np.ndarray:
        p = np.asarray(points, dtype=float).reshape(-1, 2)
        return self._norm(np.column_stack([self.sign * p[:, 0], p[:, 1]]))
