"""The ``nasbench-shrink`` command line (typer + rich): one module per group of commands.

Each command resolves its benchmark and strategies by name once, at its entry, and hands the objects down.
Commands import what they run inside their bodies, so ``nasbench-shrink --help`` imports neither torch nor Optuna.
"""

from __future__ import annotations

import sys

import typer

from nasbench_shrink import interrupts
from nasbench_shrink.cli import benchmarks, compare, search, tables  # noqa: F401  (they register their commands)
from nasbench_shrink.cli._common import DEFAULT_COMPARE_BENCHMARK, app, err_console

__all__ = ["DEFAULT_COMPARE_BENCHMARK", "app", "main"]


# click's UsageError (the base of every bad option value or missing option), reached through the public
# BadParameter so that it is the one typer raises, whether typer uses click or its own copy of it
_UsageError = typer.BadParameter.__mro__[1]


def main() -> None:
    """The console script: every usage error (a bad option value, a missing option) is one line and exit 2,
    like the errors the commands themselves report."""
    interrupts.install()
    try:
        code = app(standalone_mode=False)
    except _UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # the bare command: its help, as asked for
            sys.stdout.write(exc.format_message() + "\n")
            sys.exit(0)
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        err_console.print(f"[bold red]error:[/] {' '.join(exc.format_message().split())}{where}", highlight=False,
                          soft_wrap=True)
        sys.exit(2)
    except typer.Abort:  # Ctrl-C at a prompt
        err_console.print("[bold red]error:[/] interrupted", highlight=False)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
