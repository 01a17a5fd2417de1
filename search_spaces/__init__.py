"""The shared search space: cells as DAGs and the networks built from them.

Imports nothing from ``nasbench_shrink`` or ``baselines``: data flows one way, from cells to networks.
"""

from search_spaces.canonical import arch_key, canonical_form, same_architecture, to_graph
from search_spaces.cell import CNN_OPS, INPUT_OP, RNN_OPS, SPACE_OPS, Cell, CellError
from search_spaces.cnn import CNN, MacroConfig, build_cnn
from search_spaces.resources import Resources, count_macs, count_params, count_resources
from search_spaces.space import (all_edges, balanced_ops, complete_cell, initial_ops, random_ops, shrink_space,
                                 uniform_ops)

__all__ = [
    "CNN", "CNN_OPS", "INPUT_OP", "RNN_OPS", "SPACE_OPS", "Cell", "CellError", "MacroConfig", "Resources",
    "all_edges", "arch_key", "balanced_ops", "build_cnn", "canonical_form", "complete_cell", "count_macs",
    "count_params", "count_resources", "initial_ops", "random_ops", "uniform_ops", "same_architecture", "shrink_space", "to_graph",
]
