"""Optuna samplers over the cell space: the cell-sampler base class, the cell parameters, AutoShrink.

Usable in any Optuna study without the rest of the suite: a sampler's state comes from the study's storage and its
randomness from its seed. The baselines (``baselines/``) build on ``CellSampler``.
"""

from __future__ import annotations

from search_spaces._lazy import lazy_exports

_EXPORTS = {
    "nasbench_shrink.samplers.cell_sampler": ("CellSampler", "Proposal"),
    "nasbench_shrink.samplers.autoshrink": ("AutoShrinkSampler",),
    "nasbench_shrink.samplers.params": ("cell_to_params", "search_space", "suggest_cell"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS, globals())
