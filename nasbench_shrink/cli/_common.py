"""What every command shares: the typer app, the consoles, one-line errors, cells and integer lists from text."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console

from nasbench_shrink import interrupts
from nasbench_shrink.errors import UserError
from search_spaces.cell import Cell, CellError

app = typer.Typer(
    help="NAS benchmark suite around AutoShrink: evaluate cells, run searches as Optuna studies, compare them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: paragraphs re-wrapped to the terminal, no boxed columns
)
console = Console()
err_console = Console(stderr=True)

DEFAULT_COMPARE_BENCHMARK = "cifar10-small-table"  # shipped in the package: the README's main command trains nothing
DataDirOpt = typer.Option(None, "--data-dir", help="Data directory (else $NASBENCH_SHRINK_DATA or the user cache).")
PrunerOpt = typer.Option(
    "none",
    "--pruner",
    help="Stop trials early on their per-epoch curve (a table's, or live training's): median, percentile, sha, "
    "hyperband, wilcoxon (Optuna's) or none; a pruned trial is charged the epochs it trained. AutoShrink's runs "
    "are never pruned (autoshrink-sha halves its steps itself).",
)
ObjectivesOpt = typer.Option(
    "score",
    "--objectives",
    help="score (the λ-weighted score, one objective), or "
    "metric,macs / metric,params (two objectives: the validation metric against a cost).",
)


SamplerTimeOpt = typer.Option(
    False,
    "--sampler-time",
    help="With --workers-sim: each worker also spends the strategy's measured decision time before its trial "
    "(real seconds on this machine: the clock then depends on its load and no longer replays exactly).",
)

# the --budget-* group, the same on every command that runs searches (one of them, or none)
BudgetEvalsOpt = typer.Option(None, "--budget-evals", min=1, help="Evaluations per run.")
BudgetFlopsOpt = typer.Option(None, "--budget-flops", help="Charged training FLOPs per run.")
BudgetSecondsOpt = typer.Option(None, "--budget-seconds", help="Charged seconds per run.")
BudgetWallclockOpt = typer.Option(
    None, "--budget-wallclock", help="Simulated wall-clock seconds per run (with --workers-sim)."
)


def default_cache_url(value: str | None) -> str:
    """``--cache`` when given; else the evaluation cache in the user cache folder ($NASBENCH_SHRINK_CACHE or
    ~/.cache/nasbench-shrink), shared by every command run anywhere, so nothing is trained twice and nothing is
    written into the current folder unasked."""
    if value:
        return value
    from nasbench_shrink.benchmarks.datasets import user_cache_dir

    folder = user_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'cache.db'}"


CacheOpt = typer.Option(
    None,
    "--cache",
    callback=default_cache_url,
    show_default=False,
    help="Evaluation cache: any SQLAlchemy URL (default: cache.db in the user cache folder, "
    "$NASBENCH_SHRINK_CACHE or ~/.cache/nasbench-shrink).",
)


def writable(path: Path | None, option: str) -> Path | None:
    """Refuse, before any work, an output path whose folder does not exist or cannot be written."""
    if path is None:
        return None
    folder = Path(path).expanduser().resolve().parent
    if not folder.is_dir():
        raise UserError(f"{option} {path}: the folder {folder} does not exist; create it or pass another path")
    if not os.access(folder, os.W_OK) or (Path(path).exists() and not os.access(path, os.W_OK)):
        raise UserError(f"{option} {path}: cannot write there (permission denied); pass a writable path")
    return Path(path)


def warn(message: str) -> None:
    """One line on stderr for a setting that runs but is likely a mistake."""
    err_console.print(f"[bold yellow]warning:[/] {' '.join(message.split())}", highlight=False, soft_wrap=True)


def check_settings(bench, budget_kind: str | None, budget: float | None, workers: int) -> None:
    """Warn (and go on) about a budget a table can never spend and about more workers than cores."""
    import os

    size = bench.evaluator.architectures if bench.evaluator is not None else None
    if budget_kind == "evals" and budget is not None and size is not None and budget > size:
        warn(
            f"--budget-evals {budget:,.0f} exceeds the {size} architectures of {bench.name}: a run pays each "
            f"architecture once, so it ends when its strategy does or after {size} evaluations"
        )
    cores = os.cpu_count() or 1
    if workers > cores:
        warn(
            f"--workers {workers} exceeds the {cores} core{'s' if cores != 1 else ''} here: "
            "the workers share them and the run is slower; "
            "leave --workers at 0 for one per core"
        )


def fail(message: str, code: int = 2) -> None:
    message = " ".join(message.split())  # always exactly one line
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def user_errors(fn: Callable) -> Callable:
    """Turn user-fixable errors into one line on stderr and a non-zero exit, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (UserError, CellError) as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            interrupts.acknowledge()
            fail("interrupted; what was finished is kept (rerun the same command to continue)", code=130)

    return wrapper


def read_cell(path: str, space: str = "cnn") -> Cell:
    """A cell from a JSON file, '-' (stdin), or the shorthand ``complete:N[:SEED]`` (the seeded complete DAG)."""
    if path.startswith("complete:"):
        from search_spaces import complete_cell

        parts = path.split(":")
        try:
            return complete_cell(space, int(parts[1]), seed=int(parts[2]) if len(parts) > 2 else 0)
        except (ValueError, IndexError):
            raise UserError(
                f"bad cell shorthand {path!r}; use complete:N or complete:N:SEED, e.g. complete:8"
            ) from None
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except FileNotFoundError:
        raise UserError(
            f"cell file {path} does not exist; pass a JSON file like "
            '{"space": "cnn", "nodes": 2, "edges": [[0,1]], "ops": ["input","conv1x1"]}'
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read cell file {path} ({exc}); pass a readable JSON file") from None
    try:
        return Cell.from_json(text)
    except CellError as exc:
        raise CellError(f"{path}: {exc}") from None


def print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")


def budget_of(
    evals: int | None, flops: float | None, seconds: float | None, wallclock: float | None = None
) -> tuple[str | None, float | None]:
    given = [
        (k, v)
        for k, v in (("evals", evals), ("flops", flops), ("seconds", seconds), ("wallclock", wallclock))
        if v is not None
    ]
    if len(given) > 1:
        raise UserError("pass at most one of --budget-evals, --budget-flops, --budget-seconds, --budget-wallclock")
    for kind, value in given:  # refused here, before any folder, study or worker exists
        if not (value > 0 and value < float("inf")):
            raise UserError(
                f"--budget-{kind} must be a positive number (got {value:g}); e.g. --budget-{kind} "
                f"{ {'evals': '50', 'flops': '3e11', 'seconds': '600', 'wallclock': '3600'}[kind] }"
            )
    return given[0] if given else (None, None)


MAX_SEED = 2**32 - 1  # what numpy's and Optuna's seeded generators accept
MAX_SEEDS = 100_000  # a list longer than this is a typo, not a plan (and would not fit in memory as runs)


def int_list(text: str, what: str) -> list[int]:
    """``0,1,2``, ``0-24`` or a mix (``0-2,7``) as a list of integers."""
    out: list[int] = []
    try:
        for part in (x.strip() for x in text.split(",")):
            if not part:
                continue
            lo, sep, hi = part.partition("-")
            if sep and lo:
                if int(hi) < int(lo):
                    raise UserError(
                        f"{what}: the range {part!r} is reversed; write it low-high, e.g. {int(hi)}-{int(lo)}"
                    )
                if int(hi) - int(lo) + 1 + len(out) > MAX_SEEDS:
                    raise UserError(
                        f"{what}: {part!r} asks for {int(hi) - int(lo) + 1:,} values; at most "
                        f"{MAX_SEEDS:,} are accepted, e.g. 0-999"
                    )
                out.extend(range(int(lo), int(hi) + 1))
            else:
                out.append(int(part))
    except ValueError:
        raise UserError(
            f"{what} must be comma-separated integers or ranges, e.g. 0,1,2 or 0-24 (got {text!r})"
        ) from None
    bad = [v for v in out if not 0 <= v <= MAX_SEED]
    if bad:
        raise UserError(f"{what} must be between 0 and {MAX_SEED} (got {bad[0]}); e.g. 0-24")
    return out
