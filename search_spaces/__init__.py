"""The shared search space: cells as DAGs and the networks built from them.

Imports nothing from ``nasbench_shrink`` or ``baselines``: data flows one way, from cells to networks. Names are
loaded on first use (PEP 562), so reading a cell does not import torch.
"""

from __future__ import annotations

from search_spaces._lazy import lazy_exports

_EXPORTS = {
    "search_spaces.canonical": ("arch_key", "canonical_form", "same_architecture", "to_graph"),
    "search_spaces.cell": ("CNN_OPS", "INPUT_OP", "RNN_OPS", "SPACE_OPS", "Cell", "CellError"),
    "search_spaces.cnn": ("CNN", "build_cnn"),
    "search_spaces.configs": ("MacroConfig", "RNNConfig"),
    "search_spaces.resources": ("Resources", "count_macs", "count_params", "count_resources"),
    "search_spaces.space": (
        "all_edges",
        "balanced_ops",
        "complete_cell",
        "initial_ops",
        "random_ops",
        "shrink_space",
        "uniform_ops",
    ),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS, globals())
