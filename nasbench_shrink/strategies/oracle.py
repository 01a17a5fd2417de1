"""A zero-cost proxy as a strategy sees it: cell -> (value, seconds, FLOPs of scoring it).

On a table that holds the proxy, the value and seconds are the table's (recorded once per architecture, so every
run pays the same); otherwise the proxy is computed here (``nasbench_shrink.proxies``), once per cell and process.
FLOPs are 3 × the network's forward MACs × the proxy's minibatch (a training step's, by the project's FLOPs rule).
"""

from __future__ import annotations

from collections.abc import Callable

from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.errors import UserError
from nasbench_shrink.proxies import BATCH, PROXIES, compute_proxies
from search_spaces import Cell

__all__ = ["proxy_oracle"]


def proxy_oracle(bench: Benchmark, name: str) -> Callable[[Cell], tuple[float, float, float]]:
    """The proxy ``name`` of cells on ``bench`` (see the module's note)."""
    if name not in PROXIES:
        raise UserError(f"unknown proxy {name!r}; choose one of {', '.join(PROXIES)}")
    table = bench.table
    rows: dict[str, int] = {}
    if table is not None and name in (table.meta.get("proxies") or {}).get("names", []):
        for i, k in enumerate(table.columns["key"]):
            rows.setdefault(k, i)
    known: dict[str, tuple[float, float, float]] = {}

    def score(cell: Cell) -> tuple[float, float, float]:
        key = cell.key
        if key not in known:
            if key in rows:
                i = rows[key]
                c = table.columns  # type: ignore[union-attr]
                known[key] = (float(c[f"zc_{name}"][i]), float(c[f"zc_{name}_s"][i]), 3.0 * c["macs"][i] * BATCH)
            else:
                r = compute_proxies(cell, bench, names=(name, "macs"))
                known[key] = (r[name]["value"], r[name]["seconds"], 3.0 * r["macs"]["value"] * BATCH)
        return known[key]

    return score
