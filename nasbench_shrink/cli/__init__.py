"""The ``nasbench-shrink`` command line (typer + rich): one module per group of commands.

Each command resolves its benchmark and strategies by name once, at its entry, and hands the objects down.
Commands import what they run inside their bodies, so ``nasbench-shrink --help`` imports neither torch nor Optuna.
"""

from __future__ import annotations

import os
import sys

from nasbench_shrink import interrupts

if os.path.basename(sys.argv[0]) == "nasbench-shrink" or sys.argv[0] == "-m":
    # this import is the program starting (the console script, or python -m nasbench_shrink.cli): from here on a
    # Ctrl-C waits for the command's own handling instead of ending the start-up in a traceback
    interrupts.install()

import typer

from nasbench_shrink.cli import benchmarks, compare, search, tables  # noqa: F401  (they register commands)
from nasbench_shrink.cli._common import DEFAULT_COMPARE_BENCHMARK, app, err_console

__all__ = ["DEFAULT_COMPARE_BENCHMARK", "app", "main"]


# click's UsageError (the base of every bad option value or missing option), reached through the public
# BadParameter so that it is the one typer raises, whether typer uses click or its own copy of it
_UsageError = typer.BadParameter.__mro__[1]


@interrupts.entry
def main() -> None:
    """The console script: every usage error (a bad option value, a missing option) is one line and exit 2,
    like the errors the commands themselves report; an interrupt before a command took over is one line too."""
    try:
        sys.exit(_run())
    except KeyboardInterrupt:
        interrupts.acknowledge()
        err_console.print("[bold red]error:[/] interrupted", highlight=False)
        sys.exit(130)


def _run() -> int:
    interrupts.install()
    try:
        code = app(standalone_mode=False)
    except _UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # the bare command: its help, as asked for
            sys.stdout.write(exc.format_message() + "\n")
            return 0
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        err_console.print(
            f"[bold red]error:[/] {' '.join(exc.format_message().split())}{where}", highlight=False, soft_wrap=True
        )
        return 2
    except typer.Abort:  # Ctrl-C at a prompt
        interrupts.acknowledge()
        err_console.print("[bold red]error:[/] interrupted", highlight=False)
        return 130
    if interrupts.pending():  # typer turns a Ctrl-C during option parsing into a quiet exit 130
        interrupts.acknowledge()
        err_console.print("[bold red]error:[/] interrupted", highlight=False)
        return 130
    return code if isinstance(code, int) else 0
