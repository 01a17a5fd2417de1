"""``nasbench-shrink proxies``: every architecture of a table scored by the zero-cost proxies, then stored in it.

The work is resumable: each worker appends one JSON line per architecture to its own part file in
``<out>.proxies/``, and a rerun skips the architectures already there; when every architecture is scored the
table is rewritten with the proxy columns (``tables.table.write_proxies``) and the part files are removed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.errors import UserError
from nasbench_shrink.proxies import BATCH, PROXIES, PROXY_SEED, compute_proxies, proxy_batch
from nasbench_shrink.tables.table import write_proxies
from nasbench_shrink.work.pool import WorkerPool
from search_spaces import Cell

__all__ = ["parts_dir", "proxy_job", "read_parts", "tabulate_proxies"]

RULE = (
    f"each architecture's network built with torch.manual_seed({PROXY_SEED}) afresh for each proxy, float32 "
    f"on the CPU; one minibatch of {BATCH} examples of the proxy training split drawn with a generator seeded "
    f"{PROXY_SEED}; definitions in nasbench_shrink.proxies.measures"
)


def parts_dir(out: Path) -> Path:
    return out.with_name(out.name + ".proxies")


def read_parts(folder: Path) -> dict[str, dict[str, dict[str, float]]]:
    """Every architecture scored so far (a line cut short by a kill is skipped: it is scored again)."""
    found: dict[str, dict[str, dict[str, float]]] = {}
    for f in sorted(folder.glob("part-*.jsonl")) if folder.is_dir() else []:
        for line in f.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            found[row.pop("key")] = row
    return found


def proxy_job(bench: Benchmark, cells: list[tuple[str, dict]], part: str, data_dir: str | None, threads: int) -> int:
    """One worker: score ``cells`` and append each architecture's proxies to ``part``."""
    import torch

    torch.set_num_threads(threads)
    batch = proxy_batch(bench, data_dir)
    with open(part, "a") as f:
        for key, cell in cells:
            values = compute_proxies(Cell.from_dict(cell), bench, data_dir, batch=batch)
            f.write(json.dumps({"key": key, **values}) + "\n")
            f.flush()
    return len(cells)


def tabulate_proxies(
    bench: Benchmark,
    out: Path | None = None,
    workers: int = 1,
    data_dir: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Score every architecture of table benchmark ``bench`` and write the table with its proxy columns to
    ``out`` (default: the table file itself, replaced whole)."""
    import torch

    if bench.table is None:
        raise UserError(f"{bench.name} is not a table; pass a table benchmark (e.g. -b digits-table) or file")
    path = bench.evaluator.path
    out = Path(out) if out is not None else path
    table = bench.evaluator.table
    cells: dict[str, dict] = {}
    for key, cell in zip(table.columns["key"], table.columns["cell"]):
        cells.setdefault(key, json.loads(cell))
    folder = parts_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    done = read_parts(folder)
    todo = [(k, c) for k, c in sorted(cells.items()) if k not in done]
    t0 = time.perf_counter()
    if todo:
        workers = max(1, min(workers, len(todo)))
        threads = max(1, (os.cpu_count() or 1) // workers)
        stamp = time.time_ns()
        jobs = [
            (proxy_job, (bench, todo[i::workers], str(folder / f"part-{stamp}-{i}.jsonl"), data_dir, threads))
            for i in range(workers)
        ]

        def tick() -> None:
            if on_progress is not None:
                on_progress(len(read_parts(folder)), len(cells))

        if workers == 1:
            proxy_job(*jobs[0][1])
        else:
            with WorkerPool(workers) as pool:
                pool.run(jobs, on_tick=tick, tick_s=2.0)
        tick()
    values = read_parts(folder)
    from nasbench_shrink.evaluation.machine import cpu_model

    info = {
        "names": list(PROXIES),
        "batch": BATCH,
        "seed": PROXY_SEED,
        "split": "proxy_train",
        "device": "cpu",
        "dtype": "float32",
        "torch": torch.__version__,
        "cpu": cpu_model(),
        "rule": RULE,
    }
    meta = write_proxies(path, out, values, info)
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "table": str(out),
        "architectures": len(cells),
        "scored_now": len(todo),
        "seconds": round(time.perf_counter() - t0, 1),
        "proxies": list(PROXIES),
        "sha256": meta["sha256"],
    }
