"""Fronts, hypervolume and IGD+ against worked examples and Optuna's own hypervolume."""

from __future__ import annotations

import numpy as np
import pytest
from optuna._hypervolume import compute_hypervolume

from nasbench_shrink.objectives.pareto import hv_regret, hypervolume_2d, igd_plus, non_dominated


def test_worked_example():
    pts = np.array([[1, 3], [2, 2], [3, 1], [2.5, 2.5], [1, 3]])  # (2.5, 2.5) is dominated; (1, 3) twice
    assert non_dominated(pts).tolist() == [[1, 3], [2, 2], [3, 1]]
    # reference (4, 4): strips of width 1, 1, 1 and heights 1, 2, 3
    assert hypervolume_2d(pts, [4, 4]) == pytest.approx(6.0)
    assert hypervolume_2d([[5, 1]], [4, 4]) == 0.0  # outside the box: nothing
    assert hv_regret(pts[:1], pts, [4, 4]) == pytest.approx(6.0 - 3.0)
    assert hv_regret(pts, pts, [4, 4]) == 0.0
    # IGD+: only the objectives on which the found point is worse count
    assert igd_plus(pts, pts) == 0.0
    assert igd_plus([[2, 2]], [[1, 3], [3, 1]]) == pytest.approx(1.0)  # each front point: one unit worse on one axis


@pytest.mark.parametrize("seed", range(20))
def test_hypervolume_equals_optunas_on_random_fronts(seed):
    rng = np.random.default_rng(seed)
    pts = rng.random((rng.integers(1, 40), 2))
    ref = np.array([1.1, 1.1])
    assert hypervolume_2d(pts, ref) == pytest.approx(compute_hypervolume(pts, ref), rel=1e-12)
