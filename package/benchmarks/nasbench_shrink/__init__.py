from nasbench_shrink.hub.problem import OBJECTIVES
from nasbench_shrink.hub.problem import TableProblem as Problem

__all__ = ["OBJECTIVES", "Problem"]
