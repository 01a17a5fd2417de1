"""The runnable examples in the public modules' docstrings stay true."""

import doctest
import importlib

import pytest

MODULES = ["nasbench_shrink.budget", "nasbench_shrink.workers", "nasbench_shrink.fidelity", "nasbench_shrink.recipe",
           "nasbench_shrink.tasks", "nasbench_shrink.registry", "nasbench_shrink.cell_sampler",
           "nasbench_shrink.benchmarks", "nasbench_shrink.evaluation"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no runnable example"
    assert result.failed == 0
