"""Evaluating a cell on a benchmark: the one training loop, the task kinds' networks, ``evaluate``, the cache.

``evaluate`` reads straight (cache lookup → evaluator → store → score); live training and a table lookup are two
``Evaluator``s behind it. Every record carries measured seconds and deterministic training FLOPs.
"""

from __future__ import annotations

from search_spaces._lazy import lazy_exports

_EXPORTS = {
    "nasbench_shrink.evaluation.evaluator": (
        "EvalRecord",
        "Evaluator",
        "LiveTraining",
        "check_cell",
        "evaluate",
        "network_resources",
    ),
    "nasbench_shrink.evaluation.cache": ("EvaluationCache", "cache_key"),
    "nasbench_shrink.evaluation.networks": ("NETWORKS", "TaskNetworks", "benchmark_splits", "networks_of"),
    "nasbench_shrink.evaluation.training": ("DeviceData", "TrainResult", "train"),
    "nasbench_shrink.evaluation.machine": ("cpu_model", "machine_of"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS, globals())
