"""nasbench-shrink: a NAS benchmark suite around AutoShrink, with Optuna samplers, a shared evaluation cache
and a fair multi-strategy comparison.

Names are loaded on first use (PEP 562), so ``nasbench-shrink --help`` does not pay for torch, Optuna or SQLAlchemy.
"""

from __future__ import annotations

from nasbench_shrink._version import __version__
from search_spaces._lazy import lazy_exports

_EXPORTS = {
    "nasbench_shrink.api": ("evaluate", "make_sampler"),
    "nasbench_shrink.benchmarks": ("Benchmark",),
    "nasbench_shrink.catalogue": ("get_benchmark", "list_benchmarks", "register_benchmark"),
    "nasbench_shrink.errors": ("UserError",),
    "nasbench_shrink.evaluation": ("EvalRecord", "EvaluationCache"),
    "nasbench_shrink.samplers": ("AutoShrinkSampler", "CellSampler", "Proposal"),
    "nasbench_shrink.strategies": ("register_strategy", "unregister_strategy"),
    "nasbench_shrink.runs": ("CompareSpec", "SearchSpec", "run_compare", "run_search"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS, globals())
__all__ = [*__all__, "__version__"]
