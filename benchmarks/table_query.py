"""How fast a table answers: loading, one raw lookup, and one full ``evaluate()`` through a table benchmark.

python benchmarks/table_query.py [--benchmark digits-table] [--json benchmarks/results/table_query.json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from nasbench_shrink import evaluate
from nasbench_shrink.catalogue import get_benchmark
from nasbench_shrink.tables.table import _load, load_table
from search_spaces.cell import Cell


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmark", default="digits-table")
    ap.add_argument("--queries", type=int, default=20000)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    bench = get_benchmark(a.benchmark)
    path = bench.evaluator.path
    loads = []
    for _ in range(5):
        _load.cache_clear()
        t = time.perf_counter()
        table = load_table(path)
        loads.append(time.perf_counter() - t)
    keys = table.keys
    cells = [Cell.from_dict(json.loads(table.row(k, table.seeds[0])["cell"])) for k in keys]
    rng = random.Random(0)
    picks = [(rng.choice(keys), rng.choice(table.seeds)) for _ in range(a.queries)]
    t = time.perf_counter()
    for k, s in picks:
        table.row(k, s)
    raw_us = (time.perf_counter() - t) / len(picks) * 1e6
    for c in cells:  # canonical keys are cached per cell after the first query, as in a search
        _ = c.key
    qs = [(rng.choice(cells), rng.choice(table.seeds)) for _ in range(a.queries)]
    t = time.perf_counter()
    for c, s in qs:
        evaluate(c, bench, seed=s)
    eval_us = (time.perf_counter() - t) / len(qs) * 1e6
    out = {
        "benchmark": bench.name,
        "table": str(path),
        "file_mb": round(Path(path).stat().st_size / 2**20, 2),
        "rows": len(table),
        "load_s_median": round(statistics.median(loads), 3),
        "raw_lookup_us": round(raw_us, 2),
        "evaluate_us": round(eval_us, 1),
    }
    for k, v in out.items():
        print(f"{k:>16}: {v}")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
