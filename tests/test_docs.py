"""The runnable examples in the public modules' docstrings stay true."""

import doctest
import importlib

import pytest

MODULES = ["nasbench_shrink.budget", "nasbench_shrink.work.pool", "nasbench_shrink.benchmarks.fidelity",
           "nasbench_shrink.benchmarks.recipe", "nasbench_shrink.benchmarks.tasks", "nasbench_shrink.benchmarks.presets",
           "nasbench_shrink.evaluation.evaluator", "nasbench_shrink.evaluation.networks",
           "nasbench_shrink.catalogue", "nasbench_shrink.strategies.registry", "nasbench_shrink.samplers.cell_sampler",
           "nasbench_shrink.api"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no runnable example"
    assert result.failed == 0
