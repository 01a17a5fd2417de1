"""Rewrite the shipped tables in the current table format (rows unchanged). Format 3 (2026-12-03) adds the exact
accuracy-against-cost fronts to the metadata (``tables.fronts``). Format 2: every row names its machine, rows
trained before the field with what is known of theirs (marked ``family/model unrecorded``); ``arch_cost_s`` holds
each architecture's seconds on the table's reference machine; the metadata's λ is the one the shipped benchmark
applies (the digits table said 0.1, the benchmark uses 0.03). Prints each table's reference machine, factors and
digest.

    python benchmarks/upgrade_tables.py

What is known of the unrecorded machines: every digits-table row and the cifar10-small-table seed-0 rows were
trained on the calibration VM, whose processor the tables of that day recorded as a bare "AMD EPYC" (the
seed-0 table of 2026-11-22, kept as benchmarks/results/tables/cifar10-small-n5-seed0.parquet, says so), with
torch 2.13.0+cpu; the cifar10-small-table's own metadata names the later machine of its seed-1 rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from nasbench_shrink.catalogue import get_benchmark
from nasbench_shrink.tables.table import FORMAT, META_KEY, unrecorded_machine, upgrade_table

ROOT = Path(__file__).resolve().parents[1]
TABLES = ROOT / "nasbench_shrink" / "tables"
SEED0 = ROOT / "benchmarks" / "results" / "tables" / "cifar10-small-n5-seed0.parquet"


def main() -> None:
    calibration_vm = unrecorded_machine(json.loads(pq.read_schema(SEED0).metadata[META_KEY]))
    for path in sorted(TABLES.glob("*.parquet")):
        if json.loads(pq.read_schema(path).metadata[META_KEY]).get("format") == FORMAT:
            print(f"{path.name}: already format {FORMAT}, left as it is")
            continue
        bench = get_benchmark(path.stem)
        meta = upgrade_table(path, path, unrecorded=calibration_vm, lam=bench.lam)
        print(
            json.dumps(
                {
                    "table": path.name,
                    "format": meta["format"],
                    "lam": meta["lam"],
                    "machines": meta["machines"],
                    "cost_reference": meta["cost_reference"],
                    "sha256": meta["sha256"],
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
