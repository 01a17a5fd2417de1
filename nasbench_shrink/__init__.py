"""nasbench-shrink: a NAS benchmark suite around AutoShrink, with Optuna samplers, a shared evaluation cache
and a fair multi-strategy comparison.

Names are loaded on first use (PEP 562), so ``nasbench-shrink --help`` does not pay for torch, Optuna or SQLAlchemy.
"""

from __future__ import annotations

from search_spaces._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "nasbench_shrink.benchmarks": ("Benchmark", "get_benchmark", "list_benchmarks", "register_benchmark"),
    "nasbench_shrink.cache": ("EvaluationCache",),
    "nasbench_shrink.errors": ("UserError",),
    "nasbench_shrink.evaluation": ("EvalRecord", "evaluate"),
    "nasbench_shrink.registry": ("make_sampler", "register_strategy", "unregister_strategy"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS, globals())
__all__ = [*__all__, "__version__"]
