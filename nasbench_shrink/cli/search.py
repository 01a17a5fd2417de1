"""Commands about strategies and single runs: ``strategies``, ``search``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from nasbench_shrink import trial_attrs as ta
from nasbench_shrink.cli._common import (
    BudgetEvalsOpt,
    BudgetFlopsOpt,
    BudgetSecondsOpt,
    BudgetWallclockOpt,
    CacheOpt,
    DataDirOpt,
    ObjectivesOpt,
    PrunerOpt,
    SamplerTimeOpt,
    app,
    budget_of,
    check_settings,
    console,
    err_console,
    print_json,
    user_errors,
)
from search_spaces.cell import Cell


@app.command("strategies")
@user_errors
def strategies_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the search strategies (built-ins, entry points of group nasbench_shrink.strategies)."""
    from nasbench_shrink.strategies.registry import strategies

    rows = [
        {"name": s.name, "source": s.source, "objectives": list(s.objectives), "description": s.description}
        for s in strategies().values()
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title="strategies (also: --strategy module.path:factory)")
    for col in ("name", "source", "objectives", "description"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["name"], r["source"], ", ".join(r["objectives"]), r["description"])
    console.print(table)


@app.command("search")
@user_errors
def search_cmd(
    strategy: str = typer.Option(..., "--strategy", "-s", help="Strategy name (see 'strategies') or module:factory."),
    benchmark: str = typer.Option("digits", "--benchmark", "-b", help="Benchmark preset."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Seed of the strategy and of training."),
    storage: str = typer.Option("sqlite:///results/studies.db", "--storage", help="Optuna storage URL."),
    study: str | None = typer.Option(None, "--study", help="Study name (default <benchmark>/<strategy>/seed<k>)."),
    nodes: int | None = typer.Option(None, "--nodes", min=2, help="Cell nodes N (default: the benchmark's)."),
    k: int | None = typer.Option(None, "--k", min=1, help="AutoShrink candidates per step (default: benchmark's)."),
    lam: float | None = typer.Option(None, "--lam", help="Resource weight in the score (default: benchmark's)."),
    budget_evals: int | None = BudgetEvalsOpt,
    budget_flops: float | None = BudgetFlopsOpt,
    budget_seconds: float | None = BudgetSecondsOpt,
    budget_wallclock: float | None = BudgetWallclockOpt,
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Local worker processes on the same storage."),
    data_dir: Path | None = DataDirOpt,
    cache: str = CacheOpt,
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not use the evaluation cache."),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda ... (default: CUDA if present)."),
    heartbeat: float = typer.Option(5.0, "--heartbeat", help="Seconds between trial heartbeats (stale after 3x)."),
    workers_sim: int | None = typer.Option(
        None,
        "--workers-sim",
        min=1,
        help="On a table or surrogate: run on a simulated clock of W asynchronous workers (trials record "
        "clock_start/end).",
    ),
    sampler_time: bool = SamplerTimeOpt,
    objectives: str = ObjectivesOpt,
    pruner: str = PrunerOpt,
    extend: bool = typer.Option(
        False,
        "--extend",
        help="Continue a stored study to a larger budget of the same kind (any other budget change is refused).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Run (or resume) a strategy as an Optuna study and print the best cell."""
    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.runs.search import SearchSpec, study_summary
    from nasbench_shrink.strategies import resolve

    kind, amount = budget_of(budget_evals, budget_flops, budget_seconds, budget_wallclock)
    plan = resolve(strategy)  # an unknown strategy is the first thing reported
    bench = get_benchmark(benchmark)
    check_settings(bench, kind, amount, workers)
    spec = SearchSpec(
        strategy=plan,
        benchmark=bench,
        seed=seed,
        storage=storage,
        study=study,
        nodes=nodes,
        k=k,
        lam=lam,
        budget_kind=kind,
        budget=amount,
        data_dir=str(data_dir) if data_dir else None,
        cache=None if no_cache else cache,
        device=device,
        heartbeat=heartbeat,
        extend=extend,
        workers_sim=workers_sim,
        sampler_time=sampler_time,
        objectives=objectives,
        pruner=None if pruner == "none" else pruner,
    )
    result = _run_with_progress(spec, workers, kind, amount, quiet=as_json or not err_console.is_terminal)
    summary = study_summary(result)
    _add_regret(summary, bench, lam)
    if as_json:
        print_json(summary)
        return
    _print_summary(summary, result.user_attrs.get(ta.CLOCK))


def _run_with_progress(spec, workers: int, kind: str | None, amount: float | None, quiet: bool):
    """Run the search with a progress bar (the budget spent, evaluations, charged seconds, best score)."""
    from optuna.trial import TrialState
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from nasbench_shrink.budget import charged
    from nasbench_shrink.runs.search import run_search, trial_score

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet,
    )
    with progress:
        task = progress.add_task(f"{spec.study_name}", total=amount, stats="starting")

        def update(st) -> None:
            trials = st.get_trials(deepcopy=False)
            cost = charged(trials)
            best = max((trial_score(t) for t in trials if t.state == TrialState.COMPLETE), default=float("nan"))
            progress.update(
                task,
                completed=cost[kind] if kind else None,
                stats=f"evals {int(cost['evals'])}  cost {cost['seconds']:.1f}s  best {best:.4f}",
            )

        return run_search(spec, workers=workers, on_progress=update)


def _print_summary(summary: dict, clock: dict | None) -> None:
    """What a search found, for the terminal: its cost, its clock, its front and its best trial."""
    console.print(
        f"study {summary['study']}: {summary['complete']} trials, {summary['charged_evaluations']:.0f} "
        f"charged evaluations ({summary['cache_hits']} cache hits, {summary['free_repeats']} free repeats), "
        f"charged {summary['charged_seconds']:.1f} s / {summary['charged_flops']:.3g} FLOPs"
        + (f"; {summary['pruned']} evaluations pruned" if summary.get("pruned") else ""),
        highlight=False,
    )
    if clock:
        console.print(
            f"simulated clock, {clock['workers']} workers: makespan {clock['makespan_s']:.1f} s, "
            f"utilisation {100 * clock['utilisation']:.0f} %",
            highlight=False,
        )
    if summary.get("front"):
        front = summary["front"]
        console.print(
            f"two objectives: the study's front (Optuna's best_trials) has {len(front)} architectures, from "
            f"{front[0]['values'][1]:.4g} to {front[-1]['values'][1]:.4g} in cost; the best by the score "
            "at the benchmark's λ:",
            highlight=False,
        )
    if "best_score" not in summary:
        return
    metric = "accuracy" if summary.get("accuracy") is not None else "perplexity"
    console.print(
        f"best trial #{summary['best_trial']}: score {summary['best_score']:.4f}, {metric} "
        f"{summary[metric]:.4f}, {summary['macs'] / 1e6:.3f} M MACs, {summary['params']} params, "
        f"{summary['edges']} edges",
        highlight=False,
    )
    if "regret" in summary:
        console.print(
            f"on {summary['truth']}: true (seed-mean) score {summary['true_score']:.4f}, regret "
            f"{summary['regret']:.4f} against {summary['reference']} ({summary['optimum_score']:.4f})",
            highlight=False,
        )
    console.print(str(Cell.from_dict(summary["cell"])), highlight=False)
    console.print(json.dumps(summary["cell"]), highlight=False, soft_wrap=True)


def _add_regret(summary: dict, bench, lam) -> None:
    """On a table or a surrogate, the best trial's true (seed-mean) score and its regret against the optimum (a
    surrogate: its best known cell): what they know and a live run cannot."""
    from nasbench_shrink.analysis.report import table_landscape

    if not summary.get("cell"):
        return
    cell = Cell.from_dict(summary["cell"])
    land = table_landscape(bench if lam is None else bench.with_options(lam=lam))
    if land is None:
        return
    land.include([cell])
    key = cell.key
    if key not in land.true_score:
        return
    summary.update(
        truth=land.source,
        reference=land.reference,
        true_score=land.true_score[key],
        optimum_score=land.best_score,
        regret=land.best_score - land.true_score[key],
    )
