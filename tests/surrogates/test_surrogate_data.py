"""The N = 8 surrogate's groundwork: features that isomorphic cells share, a data set whose rows are checksummed,
and the validation measures recomputed on a small fixture."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from helpers import topological_relabel

from nasbench_shrink.errors import UserError
from nasbench_shrink.surrogates.dataset import export_dataset, load_dataset, seed_means
from nasbench_shrink.surrogates.features import cell_features, feature_names
from nasbench_shrink.surrogates.validation import rank_scores, validate
from search_spaces import Cell, all_edges, random_ops

OPS = ("conv1x1", "sep3x3")


def _random_cell(rng: random.Random, nodes: int = 8) -> Cell:
    return Cell(
        "cnn",
        nodes,
        [e for e in all_edges(nodes) if rng.random() < rng.uniform(0.3, 0.9)],
        random_ops("cnn", nodes, rng),
    )


def test_isomorphic_cells_get_identical_features():
    rng = random.Random(3)
    for _ in range(30):
        c = _random_cell(rng)
        twin = topological_relabel(c, rng)
        assert twin.key == c.key
        assert np.array_equal(cell_features(c, 10**6, 10**4), cell_features(twin, 10**6, 10**4))
    assert len(cell_features(c, 1, 1)) == len(feature_names())


def _graph_library_features(cell: Cell, macs: int, params: int) -> np.ndarray:
    """The same features computed on a networkx graph of the pruned cell: an independent reference."""
    import math

    import networkx as nx

    from search_spaces.canonical import to_graph

    g = to_graph(cell)
    ops = nx.get_node_attributes(g, "op")
    depth, paths = {0: 0}, {0: 1}
    for n in nx.topological_sort(g):
        for m in g.successors(n):
            depth[m] = max(depth.get(m, 0), depth[n] + 1)
            paths[m] = paths.get(m, 0) + paths[n]
    leaves = [n for n in g if g.out_degree(n) == 0 and n != 0]
    inner = [n for n in g if n != 0]
    in_deg = [g.in_degree(n) for n in inner] or [0]
    f = [math.log10(max(macs, 1)), math.log10(max(params, 1)), len(inner), g.number_of_edges(), len(leaves)]
    f += [max(depth.values()), math.log2(max(1, sum(paths[n] for n in leaves))), g.out_degree(0)]
    f += [float(np.mean(in_deg)), max(in_deg)]
    for op in OPS:
        members = [n for n in inner if ops[n] == op]
        f += [len(members), sum(ops[n] == op for n in leaves), sum(g.in_degree(n) for n in members)]
        f.append(float(np.mean([depth[n] for n in members])) if members else 0.0)
    f += [sum(depth[n] == d for n in inner) for d in range(1, 8)]
    f += [sum(ops[u] == a and ops[v] == b for u, v in g.edges) for a in ("input", *OPS) for b in OPS]
    return np.asarray(f, dtype=float)


def test_features_equal_a_graph_library_computation():
    """The features are computed on the edge list for speed; a networkx computation of each gives the same
    vector, on cells of every density (the identity cell and unreachable nodes included)."""
    rng = random.Random(11)
    for _ in range(300):
        nodes = rng.choice([2, 5, 8])
        p = rng.random()
        c = Cell("cnn", nodes, [e for e in all_edges(nodes) if rng.random() < p], random_ops("cnn", nodes, rng))
        assert np.array_equal(cell_features(c, 12345, 678), _graph_library_features(c, 12345, 678)), c


def _fixture_records(n: int = 60, seed: int = 0):
    """Records whose accuracy is a known function of size plus seed noise, with designs in a manifest."""
    rng = random.Random(seed)
    records, manifest = [], []
    for i in range(n):
        c = _random_cell(rng)
        edges = len(c.active_edges)
        design = "autoshrink" if i % 4 == 0 else ("random" if i % 2 else "dense")
        for s in (0, 1, 2) if i % 5 == 0 else (0,):
            acc = 0.3 + 0.004 * edges + rng.gauss(0, 0.01)
            records.append(
                {
                    "key": c.key,
                    "seed": s,
                    "cell": c.to_dict(),
                    "accuracy": acc,
                    "test_perf": acc - 0.01,
                    "macs": 10**5 * (1 + edges),
                    "params": 1000 * (1 + edges),
                    "cost_s": 1.0,
                    "train_flops": 1e9,
                    "epochs": 2,
                    "diverged": False,
                    "stop_reason": "max_epochs",
                    "machine": "test",
                    "curve": [],
                    "rungs": [{"epoch": 0.25, "val_acc": acc / 2}],
                }
            )
            manifest.append({"design": design, "run": i, "step": None, "key": c.key, "seed": s})
    return records, manifest


def test_data_set_round_trip_and_tamper_check(tmp_path):
    records, manifest = _fixture_records()
    path = tmp_path / "d.parquet"
    info = export_dataset(records, manifest, path, {"command": "test"})
    frame, meta = load_dataset(path)
    assert meta["sha256"] == info["sha256"] and len(frame) == len(records)
    assert json.loads(frame["rungs"].iloc[0])[0]["epoch"] == 0.25
    means = seed_means(frame)
    assert means["seeds"].max() == 3 and len(means) == frame["key"].nunique()
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    changed = table.set_column(
        table.schema.get_field_index("accuracy"), "accuracy", [[a + 0.1 for a in table.column("accuracy").to_pylist()]]
    )
    pq.write_table(changed.replace_schema_metadata(table.schema.metadata), path)
    with pytest.raises(UserError, match="sha256"):
        load_dataset(path)


def test_validation_measures_on_a_fixture(tmp_path):
    records, manifest = _fixture_records(80)
    path = tmp_path / "d.parquet"
    export_dataset(records, manifest, path, {})
    rows, _ = load_dataset(path)
    means = seed_means(rows)
    result = validate(rows, means, folds=4)
    held = result["held_out_random"]
    assert set(held) == {"gbt", "rf", "ensemble", "gin", "baselines", "tau_gain_over_params"}
    gain = held["tau_gain_over_params"]["gbt"]
    assert gain["lo"] <= gain["gain"] <= gain["hi"]
    # accuracy is a function of edges plus noise: the edge-count baseline ranks it well, and so do the models
    assert held["baselines"]["edges"]["kendall"] > 0.5 and held["gbt"]["spearman"] > 0.5
    assert "autoshrink" in result["leave_one_optimizer_out"]
    noise = result["noise"]
    assert noise["cells"] == 16 and 0.005 < noise["seed_sd"] < 0.02
    s = rank_scores(np.arange(10.0), np.arange(10.0))
    assert s["kendall"] == pytest.approx(1.0) and s["r2"] == pytest.approx(1.0)


def test_isomorphic_cells_get_identical_graph_encodings_and_gin_predictions():
    from nasbench_shrink.surrogates.features import graph_encoding
    from nasbench_shrink.surrogates.validation import fit_model

    rng = random.Random(5)
    cells = [_random_cell(rng) for _ in range(40)]
    x = np.vstack(
        [np.concatenate([cell_features(c, 10**5 * (1 + len(c.active_edges)), 1000), graph_encoding(c)]) for c in cells]
    )
    y = np.array([0.3 + 0.01 * len(c.active_edges) for c in cells])
    model = fit_model("gin", x, y)
    twins = [topological_relabel(c, rng) for c in cells[:10]]
    xt = np.vstack(
        [np.concatenate([cell_features(c, 10**5 * (1 + len(c.active_edges)), 1000), graph_encoding(c)]) for c in twins]
    )
    assert np.array_equal(xt, x[:10])
    assert np.array_equal(model.predict(xt), model.predict(x[:10]))
