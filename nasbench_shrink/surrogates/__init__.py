"""Surrogate benchmarks: spaces too large to enumerate (N = 8 cells), answered by a model fitted on training data.

``features`` turns a cell into numbers that are a function of its canonical architecture (isomorphic cells get
the same features, so the same prediction, by construction); ``dataset`` writes and reads the collected
evaluations as a checksummed Parquet data set; ``validation`` measures a model against held-out cells, a held-out
optimizer's cells, the seed-to-seed noise ceiling and the size baselines.
"""

from __future__ import annotations

from search_spaces._lazy import lazy_exports

_EXPORTS = {
    "nasbench_shrink.surrogates.features": ("cell_features", "feature_names"),
    "nasbench_shrink.surrogates.dataset": ("export_dataset", "load_dataset", "seed_means"),
    "nasbench_shrink.surrogates.validation": ("MODELS", "fit_model", "rank_scores", "validate"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS, globals())
