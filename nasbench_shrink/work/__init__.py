"""Units of work in a shared database, claimed under leases by worker processes on any machine.

A comparison or a tabulation writes its plan here and any worker (a local process of ``WorkerPool`` or
``nasbench-shrink worker`` elsewhere) claims units until none is left. Knows nothing of what a unit does: a unit
names its function as ``module:function``.
"""

from __future__ import annotations

from search_spaces._lazy import lazy_exports

_EXPORTS = {
    "nasbench_shrink.work.plan": (
        "Abandoned",
        "Claim",
        "Context",
        "Plan",
        "Unit",
        "WAIT",
        "open_plan",
        "work",
        "worker_name",
    ),
    "nasbench_shrink.work.pool": ("WorkerPool",),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS, globals())
