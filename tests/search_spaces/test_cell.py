import json
import random

import pytest

from search_spaces import Cell, CellError, all_edges, balanced_ops, complete_cell, shrink_space
from search_spaces.space import random_ops


def test_validation_rejects_bad_edges_and_ops():
    ops = ["input", "conv1x1", "sep3x3"]
    cases = {
        "self-loop": ([(1, 1)], ops),
        "points backward": ([(2, 1)], ops),
        "out of range": ([(0, 3)], ops),
        "appears twice": ([(0, 1), (0, 1)], ops),
        "unknown op": ([(0, 1)], ["input", "conv5x5", "sep3x3"]),
        "expected 3 ops": ([(0, 1)], ["input", "conv1x1"]),
        "node 0 must": ([(0, 1)], ["conv1x1", "conv1x1", "sep3x3"]),
    }
    for needle, (edges, o) in cases.items():
        with pytest.raises(CellError, match=needle):
            Cell("cnn", 3, edges, o)
    with pytest.raises(CellError, match="unknown space"):
        Cell("gnn", 3, [], ops)


def test_pruning_follows_official_semantics():
    # node 2 has no input, so its out-edge (2, 3) is dead; node 3 still gets (1, 3)
    c = Cell("cnn", 5, [(0, 1), (1, 3), (2, 3), (2, 4)], ["input", "conv1x1", "sep3x3", "conv1x1", "sep3x3"])
    p = c.pruned()
    assert p.edges == ((0, 1), (1, 3))
    assert c.active_nodes == (0, 1, 3)
    assert c.leaves == (3,)
    assert not c.is_identity


def test_identity_cell_and_leaves():
    c = Cell("cnn", 3, [(1, 2)], ["input", "conv1x1", "sep3x3"])
    assert c.is_identity and c.pruned().edges == () and c.leaves == (0,)
    d = Cell("cnn", 4, [(0, 1), (0, 2), (1, 3)], ["input", "conv1x1", "sep3x3", "conv1x1"])
    assert d.leaves == (2, 3)


def test_json_round_trip_in_documented_format():
    text = (
        '{"space": "cnn", "nodes": 4, "edges": [[0,1],[0,2],[1,3],[2,3]], '
        '"ops": ["input","conv1x1","sep3x3","conv1x1"]}'
    )
    c = Cell.from_json(text)
    assert json.loads(c.to_json()) == json.loads(text)
    assert Cell.from_json(c.to_json()) == c
    rnn = Cell("rnn", 3, [(0, 1), (1, 2)], ["input", "tanh", "identity"])
    assert Cell.from_json(rnn.to_json()) == rnn


@pytest.mark.parametrize(
    "text,needle",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"nodes": 2, "edges": [[0,1]]}', "lacks key"),
        ('{"nodes": 2, "edges": [[0,1]], "ops": ["input","conv1x1"], "extra": 1}', "unknown key"),
        ('{"nodes": 2, "edges": [[0,"a"]], "ops": ["input","conv1x1"]}', "pair of node indices"),
        ('{"nodes": "2", "edges": [], "ops": ["input","conv1x1"]}', "positive integer"),
    ],
)
def test_malformed_json_is_a_cell_error(text, needle):
    with pytest.raises(CellError, match=needle):
        Cell.from_json(text)


def test_complete_cell_is_seeded_and_balanced():
    c = complete_cell("cnn", 8, seed=3)
    assert len(c.edges) == 28 == len(all_edges(8))
    body = c.ops[1:]
    assert sorted(body.count(o) for o in ("conv1x1", "sep3x3")) == [3, 4]
    assert complete_cell("cnn", 8, seed=3) == c
    assert len({balanced_ops("cnn", 8, s) for s in range(20)}) > 1
    r = complete_cell("rnn", 6, seed=0)
    assert len(r.edges) == 15 and set(r.ops[1:]) <= {"relu", "sigmoid", "tanh", "identity"}


def test_shrink_space_is_every_one_edge_removal():
    c = complete_cell("cnn", 5, seed=0)
    space = shrink_space(c)
    assert len(space) == 10
    for edge, cand in space:
        assert set(c.edges) - set(cand.edges) == {edge} and len(cand.edges) == 9


def test_cells_are_immutable_and_hashable():
    c = complete_cell("cnn", 4, seed=0)
    with pytest.raises(AttributeError):
        c.nodes = 5  # type: ignore[misc]
    assert {c: 1}[complete_cell("cnn", 4, seed=0)] == 1


def test_random_ops_use_the_rng():
    rng = random.Random(0)
    assert random_ops("cnn", 6, rng)[0] == "input"
