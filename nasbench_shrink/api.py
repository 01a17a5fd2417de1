"""The public API's entry: functions that take a benchmark by name as well as by object.

Names are resolved here, once, and the objects passed down (``evaluation.evaluate`` and
``strategies.make_sampler`` take a ``Benchmark``).

Example:
    >>> make_sampler("autoshrink", "digits", seed=0, nodes=4, k=2).k
    2
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from optuna.samplers import BaseSampler

from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.catalogue import resolve_benchmark
from nasbench_shrink.evaluation import EvalRecord, EvaluationCache
from nasbench_shrink.evaluation import evaluate as evaluate_on
from nasbench_shrink.strategies import resolve
from search_spaces import Cell

__all__ = ["evaluate", "make_sampler"]


def evaluate(
    cell: Cell,
    benchmark: str | Benchmark = "digits",
    seed: int = 0,
    cache: EvaluationCache | None = None,
    data_dir: str | Path | None = None,
    device: str | None = None,
    threads: int | None = None,
    lam: float | None = None,
    stage: str = "proxy",
) -> EvalRecord:
    """Evaluate ``cell`` on ``benchmark`` (a name or a ``Benchmark``) at ``stage``, through ``cache`` when given
    (see ``nasbench_shrink.evaluation.evaluator``).

    Example:
        >>> from search_spaces import complete_cell
        >>> rec = evaluate(complete_cell("cnn", 5), "digits-table", seed=0)
        >>> rec.device
        'table'
    """
    return evaluate_on(cell, resolve_benchmark(benchmark), seed, cache, data_dir, device, threads, lam, stage)


def make_sampler(name: str, benchmark: str | Benchmark = "digits", seed: int = 0, **options: Any) -> BaseSampler:
    """Strategy ``name`` (a registered name or ``module.path:factory``) as an Optuna sampler for ``benchmark`` (a
    name or a ``Benchmark``) and ``seed``; options the strategy does not declare are not passed."""
    return resolve(name).sampler(resolve_benchmark(benchmark), seed, **options)
