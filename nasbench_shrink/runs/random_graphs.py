"""The paper's random-graph rows (Table 4): draw G graphs of one generator, final-train each, mean ± std.

The paper reports WS, ER and BA (N = 15 nodes) as means over 10 random graphs trained on full CIFAR-10 — graphs,
not searches. Graph ``g`` of generator ``kind`` at seed ``s`` is always the same cell, so the rows are reproducible
and every final training goes through the evaluation cache. ``train=False`` costs the networks only (no data).
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from dataclasses import replace

from baselines.random_wiring import GENERATORS, wiring_cell
from nasbench_shrink.benchmarks.presets import Benchmark
from nasbench_shrink.errors import UserError
from nasbench_shrink.evaluation.cache import EvaluationCache
from search_spaces import Cell


def graph_cells(kind: str, graph_nodes: int, graphs: int, space: str = "cnn", seed: int = 0) -> list[Cell]:
    """``graphs`` cells wired by generator ``kind`` on ``graph_nodes`` nodes (plus the cell input node 0)."""
    if kind not in GENERATORS:
        raise UserError(f"unknown generator {kind!r}; choose one of {', '.join(GENERATORS)}")
    if graph_nodes < 6 or graphs < 1:
        raise UserError("random graphs need --nodes >= 6 (BA attaches 5 edges per node) and --graphs >= 1")
    return [
        wiring_cell(kind, graph_nodes + 1, space, random.Random(f"table4:{kind}:{seed}:{g}")) for g in range(graphs)
    ]


def final_benchmark(bench: Benchmark, **macro_changes) -> Benchmark:
    """``bench`` with its final network changed (e.g. ``cells_per_stage``, ``aggregation``); the final fidelity
    key changes with it, so cached final trainings of other networks are never reused."""
    changes = {k: v for k, v in macro_changes.items() if v is not None}
    return bench if not changes else bench.with_stage("final", network=replace(bench.final.network, **changes))


def random_graph_rows(
    bench: Benchmark,
    cells: list[Cell],
    train: bool,
    seed: int = 0,
    cache: EvaluationCache | None = None,
    data_dir=None,
    device: str | None = None,
    threads: int | None = None,
    on_row: Callable[[dict], None] | None = None,
) -> list[dict]:
    """One row per graph: edges, final-network MACs and params, and (when ``train``) the final test metric."""
    from nasbench_shrink.evaluation.evaluator import evaluate, network_resources

    rows = []
    for g, cell in enumerate(cells):
        row = {"graph": g, "edges": len(cell.active_edges), "cell": cell.to_dict()}
        if train:
            rec = evaluate(
                cell, bench, seed=seed, cache=cache, data_dir=data_dir, device=device, threads=threads, stage="final"
            )
            row.update(
                macs=rec.macs, params=rec.params, **{bench.metric: rec.perf}, cost_s=rec.cost_s, cache_hit=rec.cache_hit
            )
        else:
            row["macs"], row["params"] = network_resources(cell, bench, "final", data_dir)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarize_rows(rows: list[dict], metric: str) -> dict:
    """Mean and sample standard deviation of MACs, params and (if trained) the metric, as the paper reports."""
    out = {}
    for col in ("macs", "params", "edges", metric):
        vals = [r[col] for r in rows if r.get(col) is not None]
        if vals:
            out[f"{col}_mean"], out[f"{col}_std"] = mean_std(vals)
    return out
