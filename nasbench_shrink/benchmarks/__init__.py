"""Benchmarks as data: presets (data, split, proxy and final stages, λ), task kinds, recipes, data loaders.

A ``Benchmark`` is a frozen value: what an evaluation means, not how it is answered. Turning one into
evaluations is ``evaluation``'s business, answering one from a table is ``tables``', and finding one by name is
``catalogue``'s; this package imports none of them.
"""

from __future__ import annotations

from search_spaces._lazy import lazy_exports

_EXPORTS = {
    "nasbench_shrink.benchmarks.presets": (
        "Answerer",
        "Benchmark",
        "PRESETS",
        "WORST_SCORE",
        "CIFAR10_PROXY",
        "CIFAR10_SMALL",
        "DIGITS",
        "PTB_PROXY",
        "PTB_TINY",
    ),
    "nasbench_shrink.benchmarks.fidelity": ("Fidelity", "STAGES"),
    "nasbench_shrink.benchmarks.recipe": ("TrainRecipe",),
    "nasbench_shrink.benchmarks.splits": ("SplitSpec", "Splits", "make_splits"),
    "nasbench_shrink.benchmarks.tasks": ("TASKS", "TaskKind", "task_kind"),
    "nasbench_shrink.benchmarks.datasets": ("ImageSet", "load_dataset"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS, globals())
