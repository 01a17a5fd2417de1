"""nasbench-shrink: a NAS benchmark suite around AutoShrink, with Optuna samplers, a shared evaluation cache
and a fair multi-strategy comparison."""

from nasbench_shrink.benchmarks import Benchmark, get_benchmark, list_benchmarks, register_benchmark
from nasbench_shrink.cache import EvaluationCache
from nasbench_shrink.errors import UserError
from nasbench_shrink.evaluation import EvalRecord, evaluate
from nasbench_shrink.registry import make_sampler, register_strategy

__version__ = "0.1.0"

__all__ = ["Benchmark", "EvalRecord", "EvaluationCache", "UserError", "evaluate", "get_benchmark",
           "list_benchmarks", "make_sampler", "register_benchmark", "register_strategy", "__version__"]
