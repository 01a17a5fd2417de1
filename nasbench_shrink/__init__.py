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

# Modules of the flat layout before the subpackages, and where each went: importing an old path still works
# (with a DeprecationWarning), so scripts and plug-ins written against it keep running.
_MOVED = {
    f"nasbench_shrink.{old}": f"nasbench_shrink.{new}"
    for old, new in {
        "dbsetup": "storage.locks",
        "trial_batch": "storage.trials",
        "plan": "work.plan",
        "workers": "work.pool",
        "fidelity": "benchmarks.fidelity",
        "recipe": "benchmarks.recipe",
        "tasks": "benchmarks.tasks",
        "datasets": "benchmarks.datasets",
        "splits": "benchmarks.splits",
        "ptb": "benchmarks.ptb",
        "training": "evaluation.training",
        "lm": "evaluation.lm",
        "cache": "evaluation.cache",
        "machine": "evaluation.machine",
        "tabular": "tables.table",
        "tabulate": "runs.tabulate",
        "landscape": "tables.landscape",
        "params": "samplers.params",
        "cell_sampler": "samplers.cell_sampler",
        "autoshrink": "samplers.autoshrink",
        "registry": "strategies.registry",
        "objective": "runs.objective",
        "search": "runs.search",
        "compare": "runs.compare",
        "random_graphs": "runs.random_graphs",
        "stats": "analysis.stats",
        "report": "analysis.report",
        "draw": "analysis.draw",
        "dashboard": "cli.dashboard",
    }.items()
}


def _install_moved_finder() -> None:
    import importlib
    import importlib.abc
    import importlib.util
    import sys
    import warnings

    class _Alias(importlib.abc.Loader):
        def __init__(self, new: str) -> None:
            self.new = new

        def create_module(self, spec):  # the default module object
            return None

        def exec_module(self, module) -> None:
            target = importlib.import_module(self.new)
            warnings.warn(
                f"{module.__name__} moved to {self.new}; import it from there", DeprecationWarning, stacklevel=2
            )
            module.__dict__.update({k: v for k, v in vars(target).items() if not k.startswith("__")})
            module.__getattr__ = lambda name: getattr(target, name)  # names set on the target later

    class _MovedFinder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            new = _MOVED.get(name)
            return None if new is None else importlib.util.spec_from_loader(name, _Alias(new))

    if not any(type(f).__name__ == "_MovedFinder" for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())


_install_moved_finder()
