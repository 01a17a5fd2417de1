"""Hardness figures of a hand-built 16-architecture table, against values worked out here independently."""

from __future__ import annotations

import itertools
import json
from collections import deque
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from nasbench_shrink.tables.landscape import (
    Landscape,
    between_seed_spearman,
    fitness_distance,
    hit_curve,
    median_of,
    random_proposal,
    shrink_path_share,
)
from nasbench_shrink.tables.table import COLUMNS, Table
from search_spaces import Cell, complete_cell
from search_spaces.cell import SPACE_OPS
from search_spaces.enumeration import enumerate_cells

OPS = ("input", "conv1x1", "sep3x3", "conv1x1")  # the start of every shrinking path below


@pytest.fixture(scope="module")
def sixteen():
    """16 architectures of the 4-node space: the complete cell with OPS and 15 others reached from it, each with
    a hand-set score; three seeds of values around it."""
    start = complete_cell("cnn", 4, ops=OPS).pruned()
    keys, cells, frontier = [], {}, [start]
    while frontier and len(keys) < 16:  # breadth-first over one-edge removals: a connected piece of the space
        cell = frontier.pop(0)
        if cell.key in cells:
            continue
        cells[cell.key] = cell
        keys.append(cell.key)
        frontier += [c for _, c in cell.shrink_space()]
    scores = {k: s for k, s in zip(keys, np.linspace(0.2, 0.95, 16)[::-1][np.r_[5, 0, 3, 1:3, 4, 6:16]])}
    land = Landscape(
        keys=sorted(keys),
        cells=cells,
        true_score=scores,
        mean_perf=dict(scores),
        mean_test={k: None for k in keys},
        macs={k: 1 for k in keys},
        lam=0.0,
        space="cnn",
        nodes=4,
    )
    return land, start


def test_hit_curve_uniform_is_uniform_on_the_ranks(sixteen):
    land, _ = sixteen
    top = land.top(0.01)
    assert len(top) == 1 and top == {land.optimum}  # ceil(0.16) = 1 architecture
    curve = hit_curve({k: 1.0 for k in land.keys}, top, 16)
    # uniform draws, repeats free: the order of first appearances is a uniform permutation, so P(hit <= b) = b/16
    assert np.allclose(curve, np.arange(1, 17) / 16, atol=1e-9)
    assert median_of(curve) == 8


def test_hit_curve_by_hand():
    # a (top) 0.5, b 0.3, c 0.2: hit first 0.5; second: b then a before c, or c then a before b
    curve = hit_curve({"a": 0.5, "b": 0.3, "c": 0.2}, {"a"}, 3)
    second = 0.3 * 0.5 / 0.7 + 0.2 * 0.5 / 0.8
    assert np.allclose(curve, [0.5, 0.5 + second, 1.0], atol=1e-9)
    assert median_of(curve) == 1 and median_of(hit_curve({"a": 0.1, "b": 0.9}, {"a"}, 2)) == 2


def test_random_proposal_sums_to_one_and_matches_sampling():
    import random

    from search_spaces import all_edges, random_ops

    w = random_proposal("cnn", 3)
    assert abs(sum(w.values()) - 1) < 1e-12 and set(w) == {c.key for c in enumerate_cells("cnn", 3)}
    rng = random.Random(0)
    draws = [
        Cell("cnn", 3, [e for e in all_edges(3) if rng.random() < 0.5], random_ops("cnn", 3, rng)).key
        for _ in range(20000)
    ]
    for k, p in w.items():
        assert abs(draws.count(k) / len(draws) - p) < 0.012


def _paths_through(cell: Cell, top: set[str]) -> float:
    """Brute force: every order of removing the pruned cell's edges, one at a time with re-pruning, each order
    with its probability under uniform removals."""
    if cell.key in top:
        return 1.0
    if not cell.edges:
        return 0.0
    share = 0.0
    for e in cell.edges:
        share += _paths_through(cell.without_edge(e).pruned(), top) / len(cell.edges)
    return share


def test_shrink_path_share_by_enumeration(sixteen):
    land, start = sixteen
    for target in ([land.optimum], land.keys[3:6], [start.key]):
        top = frozenset(target)
        expected = _paths_through(start, set(top))
        assert shrink_path_share(land, top, {OPS: 1.0}) == pytest.approx(expected, abs=1e-12)
    # a top set off every path: 0; the start itself: every path
    assert shrink_path_share(land, frozenset(), {OPS: 1.0}) == 0.0
    assert shrink_path_share(land, frozenset([start.key]), {OPS: 1.0}) == 1.0


def _neighbours(cell: Cell) -> set[str]:
    out = set()
    for i, j in itertools.combinations(range(cell.nodes), 2):
        out.add(Cell(cell.space, cell.nodes, sorted(set(cell.edges) ^ {(i, j)}), cell.ops).key)
    for n in range(1, cell.nodes):
        if n in cell.active_nodes:
            for op in SPACE_OPS[cell.space]:
                ops = list(cell.ops)
                ops[n] = op
                out.add(Cell(cell.space, cell.nodes, cell.edges, ops).key)
    return out - {cell.key}


def test_fitness_distance_correlation_by_hand(sixteen):
    land, _ = sixteen
    # a mutation read backwards is a mutation too (from the mutated cell, flip the same edge back): symmetric
    adj = {k: set() for k in land.keys}
    for k in land.keys:
        for nb in _neighbours(land.cells[k]) & set(land.keys):
            adj[k].add(nb)
            adj[nb].add(k)
    dist, queue = {land.optimum: 0}, deque([land.optimum])
    while queue:
        k = queue.popleft()
        for nb in adj[k]:
            if nb not in dist:
                dist[nb] = dist[k] + 1
                queue.append(nb)
    keys = sorted(dist)
    r = np.corrcoef([land.true_score[k] for k in keys], [dist[k] for k in keys])[0, 1]
    got = fitness_distance(land)
    assert got["fdc"] == pytest.approx(r, abs=1e-12) and got["reachable"] == len(keys)
    assert got["max_distance"] == max(dist.values())


def test_between_seed_spearman_over_every_pair(sixteen):
    land, _ = sixteen
    rng = np.random.default_rng(0)
    base = np.array([land.true_score[k] for k in land.keys])
    vals = {s: base + rng.normal(0, 0.05 * (1 + s), len(base)) for s in range(3)}
    columns = {c: [None] * 48 for c in COLUMNS}
    columns["key"] = land.keys * 3
    columns["seed"] = [s for s in range(3) for _ in land.keys]
    columns["perf"] = [float(v) for s in range(3) for v in vals[s]]
    table = Table(Path("hand.parquet"), {"seeds": [0, 1, 2]}, columns)
    got = between_seed_spearman(table, land.keys)
    pairs = {f"{a}-{b}": spearmanr(vals[a], vals[b]).statistic for a, b in ((0, 1), (0, 2), (1, 2))}
    assert got["pairs"] == pytest.approx(pairs)
    assert got["min"] == pytest.approx(min(pairs.values())) and got["mean"] == pytest.approx(
        np.mean(list(pairs.values()))
    )
    assert json.dumps(got)  # plain numbers, for --json
