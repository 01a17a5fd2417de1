"""Strategies by name: the built-ins, plug-ins and their declared traits (ends by itself, sets the paired
budget, in the default comparison, options it takes); ``make_sampler`` turns a name into an Optuna sampler."""

from __future__ import annotations

from search_spaces._lazy import lazy_exports

_EXPORTS = {
    "nasbench_shrink.strategies.registry": (
        "Strategy",
        "default_strategies",
        "make_sampler",
        "register_strategy",
        "resolve",
        "sampler_nodes",
        "strategies",
        "unregister_strategy",
    ),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS, globals())
