"""Study and cache storage: table creation under a lock, and whole studies written or read in one transaction.

Optuna commits every parameter and attribute of a trial separately; a table lookup takes microseconds, so studies
on tables run in memory and are stored here in one go. Knows nothing of benchmarks or strategies.
"""

from __future__ import annotations

from search_spaces._lazy import lazy_exports

_EXPORTS = {
    "nasbench_shrink.storage.locks": ("schema_lock",),
    "nasbench_shrink.storage.trials": (
        "backend",
        "finished_counts",
        "in_memory_twin",
        "read_trials",
        "trials_by_name",
        "write_study",
        "write_trials",
    ),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS, globals())
