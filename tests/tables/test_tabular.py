"""Tabular benchmarks: enumeration, tabulation through the cache, the table file, lookups."""

from __future__ import annotations

import json

import pytest
import torch

from nasbench_shrink import evaluate
from nasbench_shrink.benchmarks.recipe import TrainRecipe
from nasbench_shrink.catalogue import get_benchmark, register_benchmark
from nasbench_shrink.errors import BenchmarkError
from nasbench_shrink.evaluation.cache import EvaluationCache
from nasbench_shrink.evaluation.machine import machine_of
from nasbench_shrink.runs.tabulate import tabulate
from nasbench_shrink.tables.table import TableError, load_table, table_benchmark
from search_spaces import Cell
from search_spaces.enumeration import enumerate_cells


def test_enumeration_counts():
    assert len(enumerate_cells("cnn", 4)) == 130
    cells = enumerate_cells("cnn", 5)
    assert len(cells) == 2553 and len({c.key for c in cells}) == 2553
    assert all(c.pruned().edges == c.edges for c in cells)  # representatives are pruned


@pytest.fixture(scope="module")
def quick():
    """digits with one epoch: a CPU-cheap live benchmark to tabulate (N = 3: 14 architectures)."""
    bench = (
        get_benchmark("digits")
        .with_options(name="digits-1ep")
        .with_stage("proxy", recipe=TrainRecipe(batch_size=32, max_epochs=1, overfit_ratio=None))
    )
    register_benchmark(bench)
    return bench


@pytest.fixture(scope="module")
def table(quick, tmp_path_factory):
    d = tmp_path_factory.mktemp("tab")
    cache = f"sqlite:///{d / 'cache.db'}"
    summary = tabulate(quick, 3, [0, 1], cache, d / "t.parquet")
    assert summary["done"] == 28 and summary["architectures"] == 14
    return d, cache


def test_table_round_trip_and_checks(table, quick):
    d, cache_url = table
    t = load_table(d / "t.parquet")
    assert (
        len(t) == 28 and t.seeds == (0, 1) and t.meta["complete"] and t.meta["fidelity"] == quick.fidelity_key("proxy")
    )
    cache = EvaluationCache(cache_url)
    from nasbench_shrink.evaluation.cache import cache_key

    for key in t.keys:
        for seed in t.seeds:
            row = t.row(key, seed)
            stored = cache.get(cache_key(key, quick.fidelity_key("proxy"), seed))
            assert row["perf"] == stored["accuracy"] and row["train_flops"] == stored["train_flops"]
            assert row["test_perf"] == stored["test_perf"] and row["test_perf"] is not None
            assert row["machine"] == stored["machine"] == machine_of(torch.device("cpu"))
    assert t.meta["machines"] == [machine_of(torch.device("cpu"))]
    # a changed value (metadata kept) fails the sha256 check; a damaged file is unreadable: one line each
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pq.read_table(d / "t.parquet")
    perf = arrow.column("perf").to_pylist()
    perf[0] += 0.01
    changed = arrow.set_column(arrow.schema.get_field_index("perf"), "perf", pa.array(perf))
    pq.write_table(changed.replace_schema_metadata(arrow.schema.metadata), d / "changed.parquet")
    with pytest.raises(TableError, match="sha256") as err:
        load_table(d / "changed.parquet")
    assert "\n" not in str(err.value)
    raw = (d / "t.parquet").read_bytes()
    (d / "cut.parquet").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(TableError, match="not a readable table") as err:
        load_table(d / "cut.parquet")
    assert "\n" not in str(err.value)


def test_tabular_evaluate_equals_the_live_record(table, quick):
    d, cache_url = table
    tab = table_benchmark("digits-1ep-table", d / "t.parquet", quick)
    cell = Cell("cnn", 3, [(0, 1), (1, 2)], ["input", "conv1x1", "sep3x3"])
    live = evaluate(cell, quick, seed=1, cache=EvaluationCache(cache_url))
    looked = evaluate(cell, tab, seed=1)
    assert live.cache_hit and not looked.cache_hit
    for f in ("accuracy", "macs", "params", "train_flops", "epochs", "score", "test_perf"):
        assert getattr(looked, f) == getattr(live, f), f
    # seconds are the architecture's (one machine here: the mean of its seeds' measured seconds)
    t = load_table(d / "t.parquet")
    assert looked.cost_s == pytest.approx((t.row(cell.key, 0)["cost_s"] + t.row(cell.key, 1)["cost_s"]) / 2)
    # λ applies at query time
    assert evaluate(cell, tab, seed=1, lam=0.5).score != looked.score
    # the final stage answers with the proxy-trained network's held-out test accuracy, charged nothing
    fin = evaluate(cell, tab, seed=1, stage="final")
    assert fin.accuracy == live.test_perf and fin.train_flops == 0
    with pytest.raises(TableError, match="3-node cnn space"):
        evaluate(Cell("cnn", 4, [(0, 1)], ["input", "conv1x1", "conv1x1", "conv1x1"]), tab, seed=0)
    with pytest.raises(TableError, match="seeds"):
        evaluate(cell, tab, seed=7)


def test_a_table_file_path_is_a_benchmark(table, quick):
    d, _ = table
    bench = get_benchmark(str(d / "t.parquet"))
    cell = Cell("cnn", 3, [(0, 1), (1, 2)], ["input", "conv1x1", "sep3x3"])
    shipped_style = table_benchmark("digits-1ep-table", d / "t.parquet", quick)
    assert evaluate(cell, bench, seed=0).accuracy == evaluate(cell, shipped_style, seed=0).accuracy
    assert bench.evaluator.instant and bench.nodes == 3
    with pytest.raises(BenchmarkError, match="no table file at"):
        get_benchmark(str(d / "missing.parquet"))


def test_resumed_tabulation_trains_nothing_twice(table, quick, tmp_path, monkeypatch):
    d, cache_url = table

    def trains(*_a, **_k):
        raise AssertionError("a resumed tabulation trained a cell again")

    monkeypatch.setattr("nasbench_shrink.runs.tabulate.chunk_unit", trains)
    again = tabulate(quick, 3, [0, 1], cache_url, None)
    assert again["done"] == 28  # all served by the cache (no unit ran: a training would have raised)
    # carried as a file to a fresh cache: nothing is trained either
    moved = tabulate(
        quick, 3, [0, 1], f"sqlite:///{tmp_path / 'fresh.db'}", tmp_path / "t2.parquet", resume_from=d / "t.parquet"
    )
    assert moved["imported"] == 28 and moved["done"] == 28
    assert load_table(tmp_path / "t2.parquet").meta["sha256"] == load_table(d / "t.parquet").meta["sha256"]


def test_partial_export_and_incomplete_export_refused(quick, tmp_path, monkeypatch):
    from nasbench_shrink.errors import UserError

    cache = f"sqlite:///{tmp_path / 'c.db'}"
    s = tabulate(quick, 3, [0], cache, tmp_path / "p.parquet", partial=True)  # exports, trains nothing
    assert s["done"] == 0 and load_table(tmp_path / "p.parquet").meta["complete"] is False
    monkeypatch.setattr("nasbench_shrink.runs.tabulate.chunk_unit", lambda *a, **k: 0)  # training that stores nothing
    with pytest.raises(UserError, match="--partial"):
        tabulate(quick, 3, [0], cache, tmp_path / "q.parquet")


def test_regret_is_zero_exactly_when_the_optimum_is_the_incumbent(table, quick):
    from nasbench_shrink.tables.landscape import landscape_of, regret_column

    d, _ = table
    land = landscape_of(load_table(d / "t.parquet"), quick)
    others = [k for k in land.keys if k != land.optimum]
    worst = min(land.keys, key=lambda k: land.true_score[k])
    reg = regret_column([worst, land.optimum, others[0]], [0.1, 0.9, 0.5], land)
    assert reg[0] > 0 and reg[1] == 0.0 and reg[2] == 0.0  # a worse observation later keeps the incumbent
    assert all(r > 0 for r in regret_column(others, [0.5] * len(others), land))


def test_budget_charging_is_identical_live_and_tabular(quick, tmp_path):
    """One seed in the table, so every query answers with the live run's seed: same trials, same charges."""
    import optuna

    from nasbench_shrink.budget import charged
    from nasbench_shrink.runs.search import SearchSpec, run_search

    cache = f"sqlite:///{tmp_path / 'c.db'}"
    tabulate(quick, 3, [0], cache, tmp_path / "one.parquet")
    tab = table_benchmark("digits-1ep-one", tmp_path / "one.parquet", quick)
    register_benchmark(tab)
    runs = {}
    for name in (quick.name, tab.name):
        spec = SearchSpec(
            strategy="autoshrink",
            benchmark=name,
            seed=0,
            nodes=3,
            k=2,
            storage=f"sqlite:///{tmp_path / (name + '.db')}",
            cache=cache,
        )
        study = run_search(spec)
        done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        runs[name] = ([(t.user_attrs["arch_key"], t.value) for t in done], charged(study.trials))
    assert runs[quick.name] == runs[tab.name]


def test_cpu_fingerprint_names_the_vector_isa():
    import torch

    from nasbench_shrink.evaluation.machine import cpu_model

    assert cpu_model().endswith(f"{torch.backends.cpu.get_cpu_capability()})")


def test_a_missing_row_names_its_cell_and_seed(table, quick, tmp_path):
    from nasbench_shrink.tables.table import record_from_row, write_table

    d, _ = table
    full = load_table(d / "t.parquet")
    fid = full.meta["fidelity"]
    gone = full.keys[0]
    records = [
        record_from_row(full.row(k, s), quick, "proxy", s, fid)
        for k in full.keys
        for s in full.seeds
        if (k, s) != (gone, 1)
    ]
    write_table(tmp_path / "holey.parquet", records, quick, nodes=3, seeds=[0, 1], architectures=14)
    holey = table_benchmark("holey", tmp_path / "holey.parquet", quick)
    cell = Cell.from_dict(json.loads(full.row(gone, 0)["cell"]))
    assert evaluate(cell, holey, seed=0).accuracy == full.row(gone, 0)["perf"]
    with pytest.raises(TableError, match=f"cell {gone} at seed 1 is not in table holey \\(27 of 28 rows"):
        evaluate(cell, holey, seed=1)


def test_a_table_of_an_older_format_is_refused_with_the_command_that_regenerates_it(table, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from nasbench_shrink.tables.table import COLUMNS, META_KEY

    d, _ = table
    arrow = pq.read_table(d / "t.parquet")
    meta = {**json.loads(arrow.schema.metadata[META_KEY]), "format": 3}
    old = pa.table({c: arrow.column(c) for c in COLUMNS}).replace_schema_metadata({META_KEY: json.dumps(meta).encode()})
    pq.write_table(old, tmp_path / "old.parquet")
    with pytest.raises(
        TableError, match=r"has format 3 .*reads format 4; regenerate it with 'nasbench-shrink tabulate'"
    ):
        load_table(tmp_path / "old.parquet")


def test_seconds_of_two_machines_are_normalised_to_the_reference():
    from nasbench_shrink.tables.table import normalised_costs

    keys = ["a", "b", "a", "b", "c"]
    seeds = [0, 0, 1, 1, 1]
    cost = [1.0, 2.0, 3.0, 6.0, 9.0]  # machine "slow" is 3x the reference on both shared architectures
    machines = ["ref", "ref", "slow", "slow", "slow"]
    arch, info = normalised_costs(keys, seeds, cost, machines)
    assert info["reference_machine"] == "slow"  # the one with the most rows
    assert info["machine_factors"] == {"slow": 1.0, "ref": pytest.approx(1 / 3)}
    assert arch == pytest.approx([3.0, 6.0, 3.0, 6.0, 9.0])
    arch, info = normalised_costs(keys[:4], seeds[:4], cost[:4], machines[:4])  # a tie: the lowest seed's
    assert info["reference_machine"] == "ref" and arch == pytest.approx([1.0, 2.0, 1.0, 2.0])
