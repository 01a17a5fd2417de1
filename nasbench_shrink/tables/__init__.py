"""Tabular benchmarks: the table format, the lookup evaluator, the landscape, the shipped tables.

A table is one Parquet file with every architecture of a small space at a few seeds; ``TableLookup`` answers
evaluations from it with the recorded cost. The shipped tables (``*.parquet`` in this folder) are package data.
Knows nothing of strategies or runs, nor of how its rows were trained (``runs.tabulate`` writes tables).
"""

from __future__ import annotations

from pathlib import Path

from search_spaces._lazy import lazy_exports

SHIPPED_TABLES_DIR = Path(__file__).resolve().parent  # shipped tables: <name>.parquet, package data

_EXPORTS = {
    "nasbench_shrink.tables.table": (
        "Table",
        "TableError",
        "TableLookup",
        "load_table",
        "normalised_costs",
        "table_benchmark",
        "table_seed",
        "write_table",
    ),
    "nasbench_shrink.tables.landscape": ("Landscape", "evaluations_to_top", "landscape_of", "regret_column"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS, globals())
__all__ = [*__all__, "SHIPPED_TABLES_DIR"]
