"""Accuracy-against-cost fronts: non-dominated sets, exact 2-D hypervolume, hypervolume regret and IGD+.

Every function works in minimisation form: pass objectives already oriented so that lower is better (e.g.
``(1 - accuracy, MACs)``), normalised by the caller when the axes have different units. The hypervolume is the
area dominated by the set and bounded by the reference point; its exact 2-D computation is a sort and a sweep,
checked against Optuna's own (``optuna._hypervolume``, a private module) in the tests.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Normaliser", "RunningFront", "hv_regret", "hypervolume_2d", "igd_plus", "non_dominated"]


def non_dominated(points: np.ndarray) -> np.ndarray:
    """The rows of ``points`` (n × 2, minimisation) that no other row dominates, sorted by the first objective;
    duplicates kept once."""
    p = np.unique(np.asarray(points, dtype=float).reshape(-1, 2), axis=0)  # sorted by x, then y
    keep, best_y = [], np.inf
    for x, y in p:
        if y < best_y:
            keep.append((x, y))
            best_y = y
    return np.array(keep, dtype=float).reshape(-1, 2)


def hypervolume_2d(points: np.ndarray, reference: np.ndarray) -> float:
    """The area dominated by ``points`` (minimisation) inside the box below ``reference``; points not strictly
    better than the reference on both objectives add nothing."""
    ref = np.asarray(reference, dtype=float)
    p = np.asarray(points, dtype=float).reshape(-1, 2)
    p = p[(p[:, 0] < ref[0]) & (p[:, 1] < ref[1])]
    if not len(p):
        return 0.0
    front = non_dominated(p)  # x ascending, y descending
    widths = np.diff(np.append(front[:, 0], ref[0]))
    return float(np.sum(widths * (ref[1] - front[:, 1])))


def hv_regret(found: np.ndarray, true_front: np.ndarray, reference: np.ndarray) -> float:
    """Hypervolume of the true front minus that of the points found (0: the found set covers the front)."""
    return hypervolume_2d(true_front, reference) - hypervolume_2d(found, reference)


def igd_plus(found: np.ndarray, true_front: np.ndarray) -> float:
    """IGD+ (Ishibuchi et al., 2015): the mean over the true front's points of the distance to the nearest found
    point, counting only the objectives on which the found point is worse (a Pareto-compliant IGD)."""
    f = np.asarray(found, dtype=float).reshape(-1, 2)
    z = np.asarray(true_front, dtype=float).reshape(-1, 2)
    if not len(f):
        return float("inf")
    worse = np.maximum(f[None, :, :] - z[:, None, :], 0.0)  # (front point, found point, objective)
    return float(np.mean(np.min(np.sqrt(np.sum(worse**2, axis=2)), axis=1)))


class Normaliser:
    """Objectives in minimisation form scaled to [0, 1] over a fixed range: ``best`` ↦ 0, ``worst`` ↦ 1 on each
    axis. The same normaliser for every strategy of a comparison makes their hypervolumes comparable.

    Example:
        >>> n = Normaliser(best=(1.0, 0.0), worst=(0.0, 10.0))  # accuracy up to 1 (best), cost 0..10
        >>> n((0.5, 5.0)).tolist()
        [0.5, 0.5]
    """

    def __init__(self, best: tuple[float, float], worst: tuple[float, float]) -> None:
        self.best, self.worst = np.asarray(best, dtype=float), np.asarray(worst, dtype=float)
        span = self.worst - self.best
        self.span = np.where(span == 0, 1.0, span)

    def __call__(self, points) -> np.ndarray:
        return (np.asarray(points, dtype=float) - self.best) / self.span


class RunningFront:
    """The non-dominated set of the points seen so far (minimisation), kept as points arrive: what a search
    believes is its front after each evaluation. ``add`` returns whether the set changed.

    Example:
        >>> f = RunningFront()
        >>> f.add((1.0, 2.0), "a"), f.add((2.0, 3.0), "b"), f.add((0.5, 2.5), "c"), sorted(f.labels)
        (True, False, True, ['a', 'c'])
    """

    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []
        self.labels: list[object] = []

    def add(self, point, label: object = None) -> bool:
        x, y = float(point[0]), float(point[1])
        if any(px <= x and py <= y for px, py in self.points):  # weakly dominated (an equal point included)
            return False
        keep = [i for i, (px, py) in enumerate(self.points) if not (x <= px and y <= py)]
        self.points = [self.points[i] for i in keep] + [(x, y)]
        self.labels = [self.labels[i] for i in keep] + [label]
        return True
