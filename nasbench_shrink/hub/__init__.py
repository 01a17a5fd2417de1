"""The project on OptunaHub's terms: a table as an ``optunahub.benchmarks.BaseProblem`` (``TableProblem``).

The registry packages under ``package/`` import from here and hold no code of their own. Importing this module
needs ``optunahub`` (``pip install "nasbench-shrink[hub]"``); nothing else in the project does.
"""

from nasbench_shrink.hub.problem import OBJECTIVES, TableProblem

__all__ = ["OBJECTIVES", "TableProblem"]
