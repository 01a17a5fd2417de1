"""Surrogate benchmarks: spaces too large to enumerate (N = 8 cells), answered by a model fitted on training data.

``features`` turns a cell into numbers that are a function of its canonical architecture (isomorphic cells get
the same features, so the same prediction, by construction); ``dataset`` writes and reads the collected
evaluations as a checksummed Parquet data set; ``validation`` measures a model against held-out cells, a held-out
optimizer's cells, the seed-to-seed noise ceiling and the size baselines; ``model`` fits the chosen model from the
shipped data, ``lookup`` answers a benchmark's queries with it (one seed's noise drawn per query), and
``landscape`` holds what it knows of true scores: a best known cell, a top-1 % threshold and best known fronts.
"""

from __future__ import annotations

from search_spaces._lazy import lazy_exports

_EXPORTS = {
    "nasbench_shrink.surrogates.features": ("cell_features", "feature_names"),
    "nasbench_shrink.surrogates.dataset": ("export_dataset", "load_dataset", "load_dataset_meta", "seed_means"),
    "nasbench_shrink.surrogates.validation": ("MODELS", "fit_model", "rank_scores", "validate"),
    "nasbench_shrink.surrogates.model": ("FittedSurrogate", "fit_surrogate"),
    "nasbench_shrink.surrogates.lookup": ("SurrogateLookup", "surrogate_benchmark"),
    "nasbench_shrink.surrogates.landscape": ("SurrogateLandscape", "best_known"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS, globals())
