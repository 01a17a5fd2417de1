import itertools
import random

import pytest
from helpers import topological_relabel

from search_spaces import Cell, all_edges, same_architecture
from search_spaces.space import random_ops


def relabel(cell: Cell, rng: random.Random) -> Cell:
    """Renumber nodes by another topological order of the same DAG (node 0 stays first)."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(range(cell.nodes))
    g.add_edges_from(cell.edges)
    order = [0]
    remaining = set(range(1, cell.nodes))
    while remaining:
        ready = [n for n in remaining if all(p in order for p in g.predecessors(n))]
        pick = rng.choice(sorted(ready))
        order.append(pick)
        remaining.remove(pick)
    pos = {n: k for k, n in enumerate(order)}
    return Cell(cell.space, cell.nodes, [(pos[i], pos[j]) for i, j in cell.edges], [cell.ops[n] for n in order])


def test_relabelled_cell_has_the_same_key():
    a = Cell("cnn", 4, [(0, 1), (0, 2), (1, 3), (2, 3)], ["input", "conv1x1", "sep3x3", "conv1x1"])
    b = Cell("cnn", 4, [(0, 1), (0, 2), (1, 3), (2, 3)], ["input", "sep3x3", "conv1x1", "conv1x1"])
    assert a.key == b.key


def test_dead_edge_does_not_change_the_key():
    a = Cell("cnn", 5, [(0, 1), (1, 3)], ["input", "conv1x1", "sep3x3", "conv1x1", "sep3x3"])
    b = Cell("cnn", 5, [(0, 1), (1, 3), (2, 3), (2, 4)], ["input", "conv1x1", "sep3x3", "conv1x1", "sep3x3"])
    assert a.key == b.key


def test_different_op_or_wiring_changes_the_key():
    base = Cell("cnn", 4, [(0, 1), (0, 2), (1, 3), (2, 3)], ["input", "conv1x1", "sep3x3", "conv1x1"])
    other_op = Cell("cnn", 4, [(0, 1), (0, 2), (1, 3), (2, 3)], ["input", "conv1x1", "sep3x3", "sep3x3"])
    other_wire = Cell("cnn", 4, [(0, 1), (0, 2), (1, 3), (0, 3)], ["input", "conv1x1", "sep3x3", "conv1x1"])
    assert len({base.key, other_op.key, other_wire.key}) == 3


def _random_cell(rng: random.Random, n: int) -> Cell:
    p = rng.choice([0.3, 0.5, 0.7])
    return Cell("cnn", n, [e for e in all_edges(n) if rng.random() < p], random_ops("cnn", n, rng))


def test_key_equals_isomorphism_on_random_cells():
    rng = random.Random(7)
    cells = [_random_cell(rng, rng.choice([4, 5, 6])) for _ in range(120)]
    for c in cells[:40]:  # every relabelling keeps the key
        assert relabel(c, rng).key == c.key
    for a, b in itertools.combinations(cells, 2):  # key equality is exactly isomorphism
        assert (a.key == b.key) == same_architecture(a, b)


def test_symmetric_cell_gets_a_stable_key():
    # four interchangeable parallel branches: many tie orderings, one key
    ops = ["input"] + ["conv1x1"] * 4 + ["sep3x3"]
    c = Cell("cnn", 6, [(0, k) for k in range(1, 5)] + [(k, 5) for k in range(1, 5)], ops)
    rng = random.Random(0)
    assert {relabel(c, rng).key for _ in range(10)} == {c.key}


@pytest.mark.parametrize("nodes", [9, 12, 16, 20])
def test_chains_stars_and_complete_dags_get_exact_keys_up_to_20_nodes(nodes):
    import random

    from search_spaces import Cell
    from search_spaces.canonical import arch_key, same_architecture

    rng = random.Random(nodes)
    same = ["input"] + ["conv1x1"] * (nodes - 1)
    cells = {
        "chain": Cell("cnn", nodes, [(i, i + 1) for i in range(nodes - 1)], same),
        "star": Cell("cnn", nodes, [(0, i) for i in range(1, nodes)], same),
        "complete": Cell("cnn", nodes, [(i, j) for i in range(nodes) for j in range(i + 1, nodes)], same),
        "diamond": Cell(
            "cnn", nodes, [(0, i) for i in range(1, nodes - 1)] + [(i, nodes - 1) for i in range(1, nodes - 1)], same
        ),
    }
    keys = {name: arch_key(c) for name, c in cells.items()}
    assert len(set(keys.values())) == len(keys)  # different architectures, different keys
    for name, c in cells.items():
        for _ in range(3):
            twin = topological_relabel(c, rng)
            assert same_architecture(twin, c) and arch_key(twin) == keys[name], name


def test_random_graphs_of_table_4_size_key_exactly():
    """Random N = 16 DAGs (Table 4's 15 generator nodes + the input): relabellings share a key, and two cells
    share a key only if they are isomorphic."""
    import random

    from search_spaces import Cell, random_ops
    from search_spaces.canonical import arch_key, same_architecture

    rng = random.Random(7)
    seen = {}
    for _ in range(40):
        n = 16
        p = rng.choice([0.1, 0.2, 0.5])
        edges = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < p]
        ops = random_ops("cnn", n, rng) if rng.random() < 0.5 else ("input",) + ("sep3x3",) * (n - 1)
        c = Cell("cnn", n, edges, ops)
        k = arch_key(c)
        assert arch_key(topological_relabel(c, rng)) == k
        if k in seen:
            assert same_architecture(seen[k], c)
        seen[k] = c
