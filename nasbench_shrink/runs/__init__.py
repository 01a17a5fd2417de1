"""Runs: a study's objective, a search with its budget and workers, a whole comparison, a tabulation.

The entry points here (``run_search``, ``run_compare``, a plan unit) are where a run starts; below them every
function takes the resolved ``Benchmark`` and strategy, never a name.
"""

from __future__ import annotations

from search_spaces._lazy import lazy_exports

_EXPORTS = {
    "nasbench_shrink.runs.objective": ("CellObjective",),
    "nasbench_shrink.runs.search": (
        "SearchSpec",
        "open_storage",
        "prepare",
        "run_search",
        "run_worker",
        "study_summary",
    ),
    "nasbench_shrink.runs.compare": ("CompareSpec", "run_compare"),
    "nasbench_shrink.runs.tabulate": ("tabulate",),
    "nasbench_shrink.runs.random_graphs": ("graph_cells", "random_graph_rows", "summarize_rows"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS, globals())
