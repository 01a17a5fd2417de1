"""The ``nasbench-shrink`` command line (typer + rich): one module per group of commands.

Each command resolves its benchmark and strategies by name once, at its entry, and hands the objects down.
Commands import what they run inside their bodies, so ``nasbench-shrink --help`` imports neither torch nor Optuna.
"""

from __future__ import annotations

from nasbench_shrink import interrupts
from nasbench_shrink.cli import benchmarks, compare, search, tables  # noqa: F401  (they register their commands)
from nasbench_shrink.cli._common import DEFAULT_COMPARE_BENCHMARK, app

__all__ = ["DEFAULT_COMPARE_BENCHMARK", "app", "main"]


def main() -> None:
    interrupts.install()
    app()
