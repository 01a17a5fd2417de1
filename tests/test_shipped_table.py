"""The table shipped in the package: current, reproducible by the shipped code, a real search problem."""

from __future__ import annotations

import json

import pytest

from nasbench_shrink.benchmarks import TABLES_DIR, get_benchmark
from nasbench_shrink.evaluation import evaluate
from search_spaces.cell import Cell

NAME = "digits-table"

if not (TABLES_DIR / f"{NAME}.parquet").is_file():  # pragma: no cover - the table is committed
    pytest.skip(f"the shipped table {NAME} is not in {TABLES_DIR}", allow_module_level=True)


@pytest.fixture(scope="module")
def bench():
    return get_benchmark(NAME)  # refuses a table whose fidelity key no longer matches the code


def test_table_covers_the_whole_space(bench):
    meta = bench.evaluator.table.meta
    assert meta["complete"] and meta["architectures"] == 2553 and meta["nodes"] == 5 and meta["seeds"] == [0, 1, 2]
    assert meta["fidelity"] == get_benchmark("digits").fidelity_key("proxy")


def test_shipped_code_reproduces_the_shipped_table(bench):
    """Re-training cells live at the table's seed gives the recorded accuracy: exactly on a machine with the
    table's CPU model and torch version, within 0.0125 (5 of 400 validation images) on another one."""
    from nasbench_shrink.tabular import cpu_model

    table = bench.evaluator.table
    meta = table.meta
    same_machine = meta.get("cpu") == cpu_model() and meta["torch_version"] == __import__("torch").__version__
    keys = table.keys
    for key in (keys[0], keys[len(keys) // 2], keys[-1]):
        row = table.row(key, 1)
        live = evaluate(Cell.from_dict(json.loads(row["cell"])), "digits", seed=1)
        if same_machine:
            assert live.accuracy == row["perf"] and live.train_flops == row["train_flops"]
        else:
            assert abs(live.accuracy - row["perf"]) <= 0.0125


def test_default_benchmark_is_a_real_search_problem(bench):
    from nasbench_shrink.landscape import summary

    info = summary(bench.evaluator.table, bench)
    assert info["optimum"]["edges"] >= 3  # not the smallest useful cell
    assert info["random_search_evals_to_top1pct_median"] >= 20
