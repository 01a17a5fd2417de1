"""Microseconds per query of the surrogate benchmark ``cifar10-small-n8``: a cell it has not seen (exact costs,
features, both forests) and a repeat (memoised by architecture), against a table lookup for scale.

    python benchmarks/surrogate_lookup.py [--cells 2000] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cells", type=int, default=2000)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from nasbench_shrink.catalogue import get_benchmark
    from search_spaces import Cell, all_edges, random_ops

    bench = get_benchmark("cifar10-small-n8")
    ev = bench.evaluator
    t0 = time.perf_counter()
    ev.surrogate  # noqa: B018 - the fit, once per process
    fit_s = time.perf_counter() - t0
    rng = random.Random(0)
    cells = [
        Cell("cnn", 8, [e for e in all_edges(8) if rng.random() < 0.5], random_ops("cnn", 8, rng))
        for _ in range(args.cells)
    ]
    for c in cells:
        _ = c.key  # a search computes each proposal's key anyway
    t0 = time.perf_counter()
    for i, c in enumerate(cells):
        ev.run(c, bench, "proxy", i)
    first_us = (time.perf_counter() - t0) / len(cells) * 1e6
    t0 = time.perf_counter()
    for i, c in enumerate(cells):
        ev.run(c, bench, "proxy", i + 1)
    repeat_us = (time.perf_counter() - t0) / len(cells) * 1e6
    table = get_benchmark("cifar10-small-table")
    small = [
        Cell("cnn", 5, [e for e in all_edges(5) if rng.random() < 0.5], random_ops("cnn", 5, rng)) for _ in range(500)
    ]
    for c in small:
        _ = c.key
        table.evaluator.run(c, table, "proxy", 0)
    t0 = time.perf_counter()
    for c in small:
        table.evaluator.run(c, table, "proxy", 0)
    table_us = (time.perf_counter() - t0) / len(small) * 1e6
    out = {
        "fit_s": round(fit_s, 2),
        "new_cell_us": round(first_us, 1),
        "repeat_us": round(repeat_us, 1),
        "table_lookup_us": round(table_us, 1),
        "cells": len(cells),
    }
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
