"""Tabulation: train every architecture of an N-node space at every seed, through the evaluation cache.

Resumable (a rerun skips what the cache holds), distributable (W local processes, or many machines on one
PostgreSQL cache: the chunks are a plan in the cache's database that ``nasbench-shrink worker --cache URL``
joins) and exportable at any point (``partial``) as a table file that another machine continues from
(``resume_from`` loads its rows into the cache first).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.catalogue import get_benchmark
from nasbench_shrink.errors import UserError
from nasbench_shrink.evaluation.cache import EvaluationCache, cache_key, open_cache
from nasbench_shrink.evaluation.evaluator import EvalRecord, evaluate
from nasbench_shrink.work.plan import Context, Unit, open_plan, work, work_in_processes, work_of
from search_spaces.cell import Cell
from search_spaces.enumeration import enumerate_cells

__all__ = ["tabulate"]

JOB_CELLS = 40  # evaluations per pool job: small enough to balance the workers, large enough to amortise a job


def chunk_unit(payload: dict[str, Any], ctx: Context) -> int:
    """Plan unit: evaluate a chunk of cells at every seed through the cache (what the cache holds is skipped). A
    unit's entry: the benchmark is resolved here, from the plan's payload."""
    bench = get_benchmark(payload["benchmark"])
    threads = bench.cpu_threads or ctx.threads
    cache = open_cache(ctx.cache or payload["cache"])
    data_dir = ctx.data_dir or payload["data_dir"]
    for raw in payload["cells"]:
        for seed in payload["seeds"]:
            evaluate(Cell.from_dict(raw), bench, seed=seed, cache=cache, data_dir=data_dir, threads=threads)
    return len(payload["cells"]) * len(payload["seeds"])


CHUNK_UNIT = work_of(chunk_unit)  # what the plan stores; a worker imports the function by it


def _import_table(path: Path, bench: Benchmark, cache: EvaluationCache) -> int:
    """Load a (partial) table's rows into the cache so a tabulation continues from it."""
    from nasbench_shrink.tables.table import load_table, record_from_row

    table = load_table(path)
    fid = bench.fidelity_key("proxy")
    if table.meta["fidelity"] != fid:
        raise UserError(
            f"{path} was computed under fidelity {table.meta['fidelity']}, not {fid}; it cannot "
            "continue this tabulation"
        )
    n = 0
    for key in table.keys:
        for seed in table.seeds:
            row = table.row(key, seed)
            if row is not None:
                rec = record_from_row(row, bench, "proxy", seed, fid)
                n += cache.put(cache_key(key, fid, seed), key, fid, seed, rec.to_dict())
    return n


def tabulate(
    bench: Benchmark,
    nodes: int,
    seeds: list[int],
    cache_url: str,
    out: Path | None,
    workers: int = 1,
    data_dir: str | None = None,
    partial: bool = False,
    resume_from: Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    lease_s: float = 60.0,
) -> dict[str, Any]:
    """Train what is missing, then (``out``) export the table; returns a summary (counts, seconds, metadata)."""
    from nasbench_shrink.tables.table import write_table

    if bench.evaluator is not None:
        raise UserError(f"{bench.name} is itself a table; tabulate its live benchmark")
    if not seeds or len(set(seeds)) != len(seeds):
        raise UserError("--seeds must be distinct integers, e.g. 0,1,2 or 0-2")
    cells = enumerate_cells(bench.space, nodes)
    cache = open_cache(cache_url)
    imported = _import_table(resume_from, bench, cache) if resume_from is not None else 0
    fid = bench.fidelity_key("proxy")
    total = len(cells) * len(seeds)

    def done_count() -> int:
        return len(cache.keys(fid) & wanted)

    wanted = {cache_key(c.key, fid, s) for c in cells for s in seeds}
    have = cache.keys(fid)
    todo = [c for c in cells if any(cache_key(c.key, fid, s) not in have for s in seeds)]
    t0 = time.perf_counter()
    if on_progress is not None:
        on_progress(done_count(), total)
    if todo and not partial:  # --partial exports what is there and trains nothing
        tick = None if on_progress is None else (lambda: on_progress(done_count(), total))
        _train(bench, cells, nodes, seeds, cache_url, workers, data_dir, lease_s, tick)
    seconds = time.perf_counter() - t0
    done = done_count()
    summary: dict[str, Any] = {
        "benchmark": bench.name,
        "nodes": nodes,
        "seeds": seeds,
        "architectures": len(cells),
        "evaluations": total,
        "done": done,
        "imported": imported,
        "seconds": round(seconds, 1),
        "cache": cache_url,
    }
    if out is not None:
        if done < total and not partial:
            raise UserError(
                f"{done} of {total} evaluations are done; rerun to continue, or pass --partial to export what is there"
            )
        records = _records(cells, seeds, cache, fid)
        summary["table"] = write_table(out, records, bench, nodes, seeds, len(cells), bench.cpu_threads)
        summary["out"] = str(out)
    return summary


def _train(
    bench: Benchmark,
    cells: list[Cell],
    nodes: int,
    seeds: list[int],
    cache_url: str,
    workers: int,
    data_dir: str | None,
    lease_s: float,
    tick: Callable[[], None] | None,
) -> None:
    """Train every (cell, seed) the cache lacks, as a plan in the cache's database: 'nasbench-shrink worker
    --cache URL' on other machines joins it."""
    fid = bench.fidelity_key("proxy")
    run_id = f"tabulate:{fid}:N{nodes}:seeds{','.join(map(str, seeds))}"
    chunks = [[c.to_dict() for c in cells[i : i + JOB_CELLS]] for i in range(0, len(cells), JOB_CELLS)]
    plan = open_plan(cache_url)
    plan.create_run(
        run_id,
        "tabulate",
        {"benchmark": bench.name, "fidelity": fid, "nodes": nodes, "seeds": seeds},
        [
            Unit(
                0,
                CHUNK_UNIT,
                {"benchmark": bench.name, "cells": chunk, "seeds": seeds, "cache": cache_url, "data_dir": data_dir},
                f"cells {i * JOB_CELLS}-{i * JOB_CELLS + len(chunk) - 1}",
            )
            for i, chunk in enumerate(chunks)
        ],
        lease_s=lease_s,
    )
    threads = max(1, (os.cpu_count() or 1) // max(workers, 1))
    ctx = Context(
        threads=threads,
        data_dir=data_dir,
        watch_parent=workers > 1,
        preload=("nasbench_shrink.evaluation.networks",),  # trains: torch before the first claim
    )
    if workers <= 1:
        work([cache_url], ctx, run_id, on_unit=None if tick is None else (lambda _c: tick()))
    else:
        work_in_processes(workers, [cache_url], ctx, run_id, on_tick=tick, tick_s=2.0)
    plan.check_done(run_id)


def _records(cells: list[Cell], seeds: list[int], cache: Any, fid: str) -> list[EvalRecord]:
    """The cached records of the enumeration, each carrying its enumeration's representative cell."""
    records = []
    for c in cells:
        for s in seeds:
            raw = cache.get(cache_key(c.key, fid, s))
            if raw is not None:
                rec = EvalRecord.from_dict(raw)
                rec.cell = c.to_dict()
                records.append(rec)
    return records
