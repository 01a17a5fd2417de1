"""Cells are drawn so that every edge reads as what it is: no edge passes over a node it does not join, and no
two edges run along each other."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from nasbench_shrink.analysis.draw import NODE_RADIUS, _overlap, cell_layout, save_cell_png
from search_spaces import SPACE_OPS, Cell, all_edges, complete_cell


def _random_cells(n: int, count: int, seed: int = 0) -> list[Cell]:
    rng = random.Random(seed)
    ops = [o for o in SPACE_OPS["cnn"] if o != "input"]
    cells = []
    for _ in range(count):
        edges = [e for e in all_edges(n) if rng.random() < 0.5] or [(0, 1)]
        cells.append(Cell("cnn", n, edges, ["input"] + [rng.choice(ops) for _ in range(n - 1)]))
    return cells


CELLS = (
    [complete_cell("cnn", n, seed=0) for n in range(2, 9)]
    + _random_cells(5, 150)
    + _random_cells(7, 60, 1)
    # the case that was drawn as 3 -> 2 -> 4 before: 3 -> 4 beside 2 in the same column
    + [
        Cell(
            "cnn",
            5,
            [(0, 1), (0, 2), (1, 3), (2, 4), (3, 4), (1, 2)],
            ["input", "conv1x1", "sep3x3", "conv1x1", "sep3x3"],
        )
    ]
)


@pytest.mark.parametrize("cell", CELLS, ids=lambda c: f"{c.nodes}:{len(c.edges)}:{c.key[:6]}")
def test_no_edge_crosses_a_node_it_does_not_join(cell):
    pos, paths = cell_layout(cell)
    assert set(paths) == set(cell.pruned().edges)
    for (u, v), pts in paths.items():
        assert np.allclose(pts[0], pos[u]) and np.allclose(pts[-1], pos[v])
        for n, centre in pos.items():
            if n not in (u, v):
                gap = np.linalg.norm(pts - centre, axis=1).min()
                assert gap > NODE_RADIUS, f"edge {u}->{v} passes {gap:.2f} from node {n}"
    for (e, a), (f, b) in itertools.combinations(paths.items(), 2):
        assert _overlap(a, b) <= 0.25 and _overlap(b, a) <= 0.25, f"edges {e} and {f} run together"


def test_layers_follow_the_longest_path():
    cell = Cell("cnn", 4, [(0, 1), (1, 2), (0, 3), (2, 3)], ["input", "conv1x1", "sep3x3", "conv1x1"])
    pos, _ = cell_layout(cell)
    assert pos[0][0] < pos[1][0] < pos[2][0] < pos[3][0]  # 3 sits after 2, not beside 1


def test_png_is_written(tmp_path):
    path = save_cell_png(complete_cell("cnn", 8, seed=0), tmp_path / "c.png")
    assert path.stat().st_size > 10_000
