"""Commands about comparisons: ``compare``, ``worker``, ``report``, ``dashboard``."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import typer

from nasbench_shrink.analysis.results import ComparisonResults
from nasbench_shrink.cli._common import (
    DEFAULT_COMPARE_BENCHMARK,
    BudgetEvalsOpt,
    BudgetFlopsOpt,
    BudgetSecondsOpt,
    BudgetWallclockOpt,
    DataDirOpt,
    ObjectivesOpt,
    PrunerOpt,
    SamplerTimeOpt,
    app,
    budget_of,
    check_settings,
    console,
    err_console,
    fail,
    int_list,
    print_json,
    user_errors,
)
from nasbench_shrink.cli.final_table import FORMATS, final_table_text, final_table_views
from nasbench_shrink.errors import UserError

DEFAULT_POWER_A12 = 0.56  # a small effect (Vargha & Delaney: 0.56 small, 0.64 medium, 0.71 large)


@app.command("compare")
@user_errors
def compare_cmd(
    benchmark: str = typer.Option(
        DEFAULT_COMPARE_BENCHMARK,
        "--benchmark",
        "-b",
        help="Benchmark: a preset or a table (see 'nasbench-shrink "
        "benchmarks'); the default, a shipped table, trains nothing.",
    ),
    strategies: str = typer.Option(
        "all",
        "--strategies",
        help="Comma-separated strategy names, 'all' (every "
        "built-in that supports the objectives), module.path:factory or "
        "file.py:factory; e.g. all,my.py:factory.",
    ),
    objectives: str = ObjectivesOpt,
    pruner: str = PrunerOpt,
    seeds: str | None = typer.Option(
        None,
        "--seeds",
        help="Seeds: 0,1,2 or 0-99 (default: on a table or surrogate, as many as --power asks; 3 live).",
    ),
    power: float | None = typer.Option(
        None,
        "--power",
        help="Run as many seeds as the paired test needs to detect this A12 against the reference at 80 % power "
        f"at Holm's strictest step (default on a table or surrogate: {DEFAULT_POWER_A12}).",
    ),
    budget_evals: int | None = BudgetEvalsOpt,
    budget_flops: float | None = BudgetFlopsOpt,
    budget_seconds: float | None = BudgetSecondsOpt,
    budget_wallclock: float | None = BudgetWallclockOpt,
    workers: int = typer.Option(0, "--workers", "-w", min=0, help="Worker processes (0: number of cores)."),
    storage: str | None = typer.Option(None, "--storage", help="Optuna storage URL (default <out>/studies.db)."),
    cache: str | None = typer.Option(None, "--cache", help="Evaluation cache URL (default <out>/cache.db)."),
    out: Path | None = typer.Option(None, "--out", help="Output folder (default results/<benchmark>-<time>)."),
    data_dir: Path | None = DataDirOpt,
    nodes: int | None = typer.Option(None, "--nodes", min=2, help="AutoShrink's N (default: the benchmark's)."),
    k: int | None = typer.Option(None, "--k", min=1, help="AutoShrink's K (default: the benchmark's)."),
    final: bool = typer.Option(True, "--final/--no-final", help="Final evaluation of each run's best cell."),
    lease: float = typer.Option(
        60.0,
        "--lease",
        min=1.0,
        help="Seconds after which the run of a worker that "
        "stopped renewing its claim (killed, machine lost) is taken over.",
    ),
    workers_sim: str | None = typer.Option(
        None,
        "--workers-sim",
        help="On a table or surrogate: run every search on a "
        "simulated clock of W asynchronous workers; a list (1,4,16) runs "
        "one comparison per W into <out>/w<W> and writes clock.md.",
    ),
    sampler_time: bool = SamplerTimeOpt,
    fmt: str = typer.Option(
        "table",
        "--format",
        help="How to print the final table: table (fitted to the "
        "terminal), md, csv or json (stdout; messages go to stderr).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print every run's summary row as JSON instead."),
    verify_live: int | None = typer.Option(
        None,
        "--verify-live",
        min=1,
        help="On a surrogate: afterwards train the returned cells of each strategy's first N seeds live on the "
        "tier it was fitted on and set them against the predictions (verify-live.json).",
    ),
    store_studies: bool = typer.Option(
        False,
        "--store-studies",
        help="On a table or surrogate: write every run's Optuna study as it ends (default: on request, by "
        "'nasbench-shrink dashboard', which makes the runs again; their rows are kept either way).",
    ),
) -> None:
    """Compare strategies x seeds under one budget; write CSVs, figures and report.md.

    The work is a plan in the study storage: 'nasbench-shrink worker --storage URL' on other machines joins it.

    With no budget, the strategies that set the automatic budget (AutoShrink) run first and every other strategy
    at seed s gets what they spent at seed s (paired runs of equal cost); a --budget-* flag fixes one budget for
    all (add autoshrink-restarts to let AutoShrink spend it). A run pays for each architecture once: a repeat is
    free. Rerunning the same command continues unfinished runs and reuses finished ones.

    Progress, per strategy: runs started, evaluations stored, and the median over its runs of each run's best
    score so far.
    """
    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.runs.compare import CompareSpec

    if fmt not in FORMATS:
        raise UserError(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
    names = _strategy_names(strategies, objectives)
    kind, amount = budget_of(budget_evals, budget_flops, budget_seconds, budget_wallclock)
    bench = get_benchmark(benchmark)
    check_settings(bench, kind, amount, workers)
    seeds, power_note = _seeds(seeds, power, bench, len(names))
    sims = _workers_sim(workers_sim)
    _check_options(bench, sims, verify_live, storage, cache)
    parent = None
    if len(sims) > 1:
        from datetime import datetime

        parent = out or Path("results") / f"{bench.name}-clock-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    specs = [
        CompareSpec(
            benchmark=bench,
            strategies=names,
            seeds=int_list(seeds, "--seeds"),
            budget_kind=kind or "flops",
            budget=amount,
            workers=workers,
            out=str(parent / f"w{w}") if parent is not None else (str(out) if out else None),
            storage=storage,
            cache=cache,
            data_dir=str(data_dir) if data_dir else None,
            final=final,
            nodes=nodes,
            k=k,
            lease_s=lease,
            workers_sim=w,
            sampler_time=sampler_time,
            objectives=objectives,
            pruner=None if pruner == "none" else pruner,
            store_studies=store_studies,
        )
        for w in sims
    ]
    results = _run_with_progress(specs, quiet=as_json or fmt != "table")
    if power_note is not None:
        err_console.print(power_note, highlight=False, soft_wrap=True)
    if parent is not None:
        _print_clock(parent, [r.out for r in results], bench, fmt, as_json)
        return
    if verify_live is not None:
        _verify(results[0].out, bench, verify_live, cache, data_dir)
    _print_results(results[0], fmt, as_json)


def _strategy_names(strategies: str, objectives: str) -> list[str]:
    """The names asked for, in order: 'all' is the default comparison's for the kind of study; plug-ins may
    follow it."""
    from nasbench_shrink.objectives import parse_objectives
    from nasbench_shrink.strategies import default_strategies

    kind_of_study = parse_objectives(objectives).kind
    names: list[str] = []
    for x in (x.strip() for x in strategies.split(",")):
        names += [n for n in (default_strategies(kind_of_study) if x == "all" else [x] if x else []) if n not in names]
    return names


def _seeds(seeds: str | None, power: float | None, bench, strategies: int) -> tuple[str, str | None]:
    """The seeds to run, and the line that says why when they were chosen by power (said once the runs are
    done, so that a refusal of other settings stays one line)."""
    if seeds is not None and power is not None:
        raise UserError("--seeds and --power both choose the seeds; pass one of them")
    if seeds is not None:
        return seeds, None
    if power is None and bench.default_seeds is not None:
        return f"0-{bench.default_seeds - 1}", None
    a12 = power or DEFAULT_POWER_A12
    n, alpha = powered_seeds(a12, strategies)
    return f"0-{n - 1}", (
        f"{n} seeds: the paired test detects A12 ≥ {a12:g} at 80 % power at α = {alpha:.3g} "
        "(Holm's strictest step); --seeds or --power chooses otherwise"
    )


def _check_options(bench, sims: list[int | None], verify_live: int | None, storage, cache) -> None:
    if verify_live is not None and not (bench.evaluator is not None and bench.evaluator.predicts):
        raise UserError(
            f"--verify-live checks a surrogate's predictions in one comparison; {bench.name} is not a surrogate "
            "(e.g. -b cifar10-small-n8)"
        )
    if verify_live is not None and len(sims) > 1:
        raise UserError("--verify-live takes one --workers-sim value at most")
    if len(sims) > 1 and (storage or cache):
        raise UserError(
            "--storage and --cache name one comparison; with several --workers-sim values each W gets "
            "its own folder under --out: drop --storage/--cache"
        )


def _run_with_progress(specs: list, quiet: bool) -> list[ComparisonResults]:
    """Run each comparison with one progress line per strategy (runs started, evaluations stored, the median
    over its runs of each run's best score so far); one comparison per simulated worker count W."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from nasbench_shrink.runs.compare import run_compare

    shown = {n: p.display_name for n, p in specs[0].plans.items()}
    width = max([len(v) for v in shown.values()] + [8])
    progress = Progress(
        SpinnerColumn(),
        TextColumn(f"{{task.description:<{width}}}"),
        TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet,
    )
    tasks: dict[str, int] = {}

    def update(snap: dict[str, dict], prefix: str = "") -> None:
        for name, r in snap.items():
            if prefix + name not in tasks:
                tasks[prefix + name] = progress.add_task(prefix + shown.get(r["strategy"], r["strategy"]), stats="")
            best = "–" if r["median_best"] is None else f"{r['median_best']:.4f}"
            progress.update(
                tasks[prefix + name],
                stats=f"runs {r['runs']:>{len(str(r['seeds']))}}/{r['seeds']}  evals "
                f"{r['evals']:>5}  median best {best}",
            )

    with progress:
        return [
            run_compare(s, on_progress=lambda snap, w=s.workers_sim: update(snap, f"W={w} " if len(specs) > 1 else ""))
            for s in specs
        ]


def _print_clock(parent: Path, folders: list[Path], bench, fmt: str, as_json: bool) -> None:
    """The clock report of a comparison per W: written, then printed as asked."""
    from nasbench_shrink.analysis.clock_report import write_clock_report

    table = write_clock_report(parent, folders, bench)
    if as_json or fmt != "table":
        err_console.print(f"wrote {parent}/clock.md, clock.csv and clock.png", highlight=False)
        sys.stdout.write(
            table.to_json(orient="records", indent=2) + "\n"
            if as_json or fmt == "json"
            else table.to_csv(index=False)
            if fmt == "csv"
            else (parent / "clock.md").read_text()
        )
        return
    console.print(
        f"wrote {parent}/clock.md, clock.csv, clock.png and one comparison per W in {parent}/w<W>", highlight=False
    )
    console.print(clock_view(table))


def _print_results(results: ComparisonResults, fmt: str, as_json: bool) -> None:
    """The final table of a comparison from its results: fitted to the terminal, or md, csv, json."""
    folder, summary = results.out, results.summary
    if as_json:
        print_json({"out": str(folder), "runs": summary.drop(columns=["best_cell"]).to_dict(orient="records")})
        return
    if fmt != "table":
        err_console.print(f"wrote {folder}/report.md, trials.csv, summary.csv and the figures", highlight=False)
        sys.stdout.write(final_table_text(summary, results.budget_kind, results.kind, fmt))
        return
    console.print(f"wrote {folder}/report.md, trials.csv, summary.csv and the figures", highlight=False)
    for view in final_table_views(summary, results.budget_kind, results.kind, console.width):
        console.print(view)


@functools.lru_cache(maxsize=32)  # a simulation of about 2 s, the same for every comparison of that many strategies
def powered_seeds(a12: float, strategies: int) -> tuple[int, float]:
    """The seeds (and the test level) at which the paired test detects ``a12`` at 80 % power at Holm's strictest
    step over the comparisons against the reference, for tie-free scores (the report then states what the run
    could detect with its scores' ties)."""
    from nasbench_shrink.analysis.stats import seeds_for_power

    if not 0.5 < a12 < 1.0:
        raise UserError(f"--power takes an A12 between 0.5 and 1 (got {a12:g}), e.g. 0.56 for a small effect")
    alpha = 0.05 / max(1, strategies - 1)
    try:
        return seeds_for_power(a12, alpha=alpha, most=10_000), alpha
    except ValueError as exc:
        raise UserError(f"--power {a12:g}: {exc}; ask for a larger A12") from None


def _verify(folder: Path, bench, per_strategy: int, cache: str | None, data_dir: Path | None) -> None:
    """Train the comparison's returned cells live (``runs.verify``), through its own evaluation cache."""
    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.evaluation.cache import open_cache
    from nasbench_shrink.runs.verify import verify_line, verify_live

    live = get_benchmark(bench.evaluator.describe()["live"]).with_options(nodes=bench.nodes, k=bench.k)
    url = cache or f"sqlite:///{folder / 'verify-cache.db'}"

    def said(i: int, n: int, row: dict) -> None:
        err_console.print(
            f"verify {i}/{n}: {row['strategy']} seed {row['seed']}: predicted {row['predicted']:.4f}, "
            f"measured {row['measured']:.4f}",
            highlight=False,
        )

    out = verify_live(folder, bench, live, per_strategy, open_cache(url), str(data_dir) if data_dir else None, said)
    err_console.print(verify_line(out) + f" ({folder}/verify-live.json)", highlight=False)


def _workers_sim(text: str | None) -> list[int | None]:
    if text is None:
        return [None]
    sims = int_list(text, "--workers-sim")
    if not sims or min(sims) < 1 or len(set(sims)) != len(sims):
        raise UserError(f"--workers-sim takes distinct worker counts >= 1, e.g. 4 or 1,4,16 (got {text!r})")
    return sims  # whether the benchmark can run on a simulated clock is run_compare's check


def clock_view(table):
    """The clock report's table for the terminal: per W and strategy, time to a top-1 % cell and utilisation."""
    from nasbench_shrink.cli.final_table import fitted_table

    rows = [
        [
            r["strategy"],
            str(r["workers"]),
            r["time_to_top1pct"],
            f"{r['reached']:.0%}",
            "–" if r["speedup"] != r["speedup"] else f"{r['speedup']:.2f}x",
            "–" if r["makespan_speedup"] != r["makespan_speedup"] else f"{r['makespan_speedup']:.2f}x",
            f"{r['utilisation']:.0%}",
        ]
        for _, r in table.iterrows()
    ]
    return fitted_table(
        "simulated clock: median time to a top-1% cell [95% CI] (s), speed-up over W=1, worker utilisation",
        ["strategy", "W", "to top 1%", "reached", "speed-up", "span ×", "util."],
        rows,
    )


@app.command("worker")
@user_errors
def worker_cmd(
    storage: str | None = typer.Option(None, "--storage", help="Study storage URL of a comparison to join."),
    cache: str | None = typer.Option(
        None,
        "--cache",
        help="Evaluation cache URL: a tabulation to join, and the cache a joined comparison uses from this machine.",
    ),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Worker processes on this machine."),
    run: str | None = typer.Option(None, "--run", help="Join only this run (default: every open run)."),
    wait: float = typer.Option(0.0, "--wait", min=0.0, help="Seconds to wait for a run to appear if none is open."),
    data_dir: Path | None = DataDirOpt,
) -> None:
    """Join the open comparisons and tabulations in a shared database: take the next unit of work, run it, repeat;
    leave when nothing is left. A worker killed mid-unit is replaced by the next one that claims its unit."""
    import os

    from nasbench_shrink.work.plan import Context, work, work_in_processes

    urls = [u for u in (storage, cache) if u]
    if not urls:
        fail("pass --storage URL (a comparison's study storage) and/or --cache URL (a tabulation's cache)")
    threads = max(1, (os.cpu_count() or 1) // workers)
    ctx = Context(
        threads=threads,
        data_dir=str(data_dir) if data_dir else None,
        cache=cache,
        watch_parent=workers > 1,
        preload=("nasbench_shrink.evaluation.networks",),  # a joining worker usually trains: torch before a claim
    )
    if workers == 1:
        ran = work(
            urls,
            ctx,
            run,
            wait_s=wait,
            on_unit=lambda c: err_console.print(f"[{c.run_id}] {c.label} (attempt {c.attempt})", highlight=False),
        )
    else:
        ran = work_in_processes(workers, urls, ctx, run, wait_s=wait)
    console.print(f"ran {ran} units; nothing left to claim", highlight=False)


@app.command("report")
@user_errors
def report_cmd(
    out: Path = typer.Argument(..., help="A compare output folder."),
    x_axis: str | None = typer.Option(
        None, "--x", help="Cost axis of the curves: evals, flops or seconds (default: the budget's kind)."
    ),
) -> None:
    """Regenerate report.md and the figures of a compare run from its CSVs."""
    import json

    from nasbench_shrink.analysis.report import write_report
    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.runs.compare import record_run_kind

    if not out.is_dir():
        raise UserError(f"{out} is not a folder; pass the folder a compare run wrote")
    try:
        name = json.loads((out / "compare.json").read_text())["settings"]["benchmark"]
    except (OSError, ValueError, KeyError, TypeError):
        name = ""  # no readable settings: the report says what it can from the CSVs
    try:
        bench = get_benchmark(name)
    except UserError:  # e.g. a plug-in benchmark since uninstalled: the report is written without its table
        bench = None
    record_run_kind(out)  # a folder written before comparisons recorded their kind
    console.print(f"wrote {write_report(out, bench, x_axis)}", highlight=False)


@app.command("dashboard")
@user_errors
def dashboard_cmd(
    out: Path | None = typer.Argument(None, help="A compare output folder (default: the latest in results/)."),
    storage: str | None = typer.Option(None, "--storage", help="Storage URL instead of a folder."),
    port: int = typer.Option(0, "--port", help="Port (0: a free one)."),
    seeds: str | None = typer.Option(
        None,
        "--seeds",
        help="A comparison's seeds to show, e.g. 0-9 (default: all, at most the first 100). A table or surrogate "
        "comparison stores its studies on request: those shown are stored first.",
    ),
) -> None:
    """Serve optuna-dashboard on 127.0.0.1 for a compare run's (or any) storage."""
    from rich.progress import Progress

    from nasbench_shrink.cli.dashboard import resolve_storage, seeds_to_show, serve
    from nasbench_shrink.runs.compare import store_studies

    asked = int_list(seeds, "--seeds") if seeds is not None else None
    url, folder = (storage, None) if storage else resolve_storage(out)
    if folder is not None:
        import json

        ran = json.loads((folder / "compare.json").read_text())["settings"].get("seeds", [])
        shown, note = seeds_to_show(ran, asked)
        if note:
            console.print(note, highlight=False)
        with Progress(console=err_console, transient=True) as progress:
            task = progress.add_task("storing the runs' studies", total=None)
            done = store_studies(folder, shown, on_progress=lambda i, n: progress.update(task, completed=i, total=n))
        if done["stored"]:
            console.print(f"stored {done['stored']} studies of {folder} for the dashboard", highlight=False)
        if done["differ"]:
            err_console.print(
                f"warning: {len(done['differ'])} runs came out otherwise than the comparison recorded "
                f"(e.g. {done['differ'][0]}; the code changed since?): the dashboard shows them as made now",
                highlight=False,
            )
    elif asked is not None:
        raise UserError("--seeds chooses a comparison's runs; pass a compare output folder, not --storage")
    serve(
        url,
        port=port,
        announce=lambda u: console.print(
            f"optuna-dashboard on {u}  (storage {url}); Ctrl+C stops it", highlight=False, soft_wrap=True
        ),
    )
