"""The ``nasbench-shrink`` command line (typer + rich)."""

from __future__ import annotations

import functools
from contextlib import nullcontext
import json
import sys
from pathlib import Path
from typing import Callable, Optional

import typer
from rich.console import Console
from rich.table import Table

from search_spaces.cell import Cell, CellError
from nasbench_shrink.errors import UserError

app = typer.Typer(
    help="NAS benchmark suite around AutoShrink: evaluate cells, run searches as Optuna studies, compare them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

DEFAULT_COMPARE_BENCHMARK = "cifar10-small-table"  # shipped in the package: the README's main command trains nothing
DataDirOpt = typer.Option(None, "--data-dir", help="Data directory (else $NASBENCH_SHRINK_DATA or the user cache).")
CacheOpt = typer.Option("sqlite:///results/cache.db", "--cache", help="Evaluation cache: any SQLAlchemy URL.")


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
            fail("interrupted; finished evaluations are kept in the cache and the study", code=130)

    return wrapper


def read_cell(path: str, space: str = "cnn") -> Cell:
    """A cell from a JSON file, '-' (stdin), or the shorthand ``complete:N[:SEED]`` (the seeded complete DAG)."""
    if path.startswith("complete:"):
        from search_spaces import complete_cell

        parts = path.split(":")
        try:
            return complete_cell(space, int(parts[1]), seed=int(parts[2]) if len(parts) > 2 else 0)
        except (ValueError, IndexError):
            raise UserError(f"bad cell shorthand {path!r}; use complete:N or complete:N:SEED, e.g. complete:8") from None
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except FileNotFoundError:
        raise UserError(f"cell file {path} does not exist; pass a JSON file like "
                        '{"space": "cnn", "nodes": 2, "edges": [[0,1]], "ops": ["input","conv1x1"]}') from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read cell file {path} ({exc}); pass a readable JSON file") from None
    try:
        return Cell.from_json(text)
    except CellError as exc:
        raise CellError(f"{path}: {exc}") from None


def print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")


@app.command("benchmarks")
@user_errors
def benchmarks_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the benchmark presets."""
    from nasbench_shrink.benchmarks import list_benchmarks

    rows = [{"name": b.name, "space": b.space, "dataset": b.dataset, "lam": b.lam, "nodes": b.nodes, "k": b.k,
             "fidelity": b.fidelity_key("proxy"), "description": b.description,
             **(b.evaluator.describe() if b.evaluator is not None else {})} for b in list_benchmarks()]
    if as_json:
        print_json(rows)
        return
    table = Table(title="benchmarks")
    for col in ("name", "space", "dataset", "lam", "nodes", "k", "description"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(*(str(r[c]) for c in ("name", "space", "dataset", "lam", "nodes", "k", "description")))
    console.print(table)


@app.command("show")
@user_errors
def show_cmd(
    cell_file: str = typer.Argument(..., help="Cell JSON file, '-' for stdin, or complete:N[:SEED]."),
    benchmark: str = typer.Option("digits", "--benchmark", "-b", help="Benchmark whose search network is costed."),
    png: Optional[Path] = typer.Option(None, "--png", help="Also draw the pruned cell to this PNG."),
    data_dir: Optional[Path] = DataDirOpt,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a cell pruned, its key, and the cost of the benchmark's search-time network (no training)."""
    from nasbench_shrink.benchmarks import get_benchmark
    from nasbench_shrink.evaluation import check_cell, network_resources

    bench = get_benchmark(benchmark)
    cell = read_cell(cell_file, bench.space)
    check_cell(cell, bench)
    macs, params = network_resources(cell, bench, "proxy", data_dir)
    info = {"key": cell.key, "benchmark": bench.name, "macs": macs, "params": params,
            "edges": len(cell.active_edges), "active_nodes": list(cell.active_nodes), "leaves": list(cell.leaves),
            "cell": cell.to_dict(), "pruned": cell.pruned().to_dict()}
    info.update(bench.kind.describe(bench, data_dir))
    if png is not None:
        from nasbench_shrink.draw import save_cell_png

        try:
            info["png"] = str(save_cell_png(cell, png))
        except OSError as exc:
            raise UserError(f"cannot write {png} ({exc.strerror}); pass a writable --png path") from None
    if as_json:
        print_json(info)
        return
    console.print(str(cell), highlight=False)
    unit = bench.kind.unit
    console.print(f"key {info['key']}  |  {bench.name} network: {macs / 1e6:.3f} M MACs per {unit}, "
                  f"{params / 1e3:.1f} k params", highlight=False)
    if png is not None:
        console.print(f"drawing: {info['png']}")


@app.command("evaluate")
@user_errors
def evaluate_cmd(
    cell_file: str = typer.Argument(..., help="Cell JSON file, '-' for stdin, or complete:N[:SEED]."),
    benchmark: str = typer.Option("digits", "--benchmark", "-b", help="Benchmark preset (see 'benchmarks')."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Training seed (weights and batch order)."),
    data_dir: Optional[Path] = DataDirOpt,
    cache: str = CacheOpt,
    no_cache: bool = typer.Option(False, "--no-cache", help="Train even if cached; store nothing."),
    final: bool = typer.Option(False, "--final", help="Final evaluation (final recipe, held-out test split)."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:1 ... (default: CUDA if present)."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="torch threads (default: all cores)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Train a cell on a benchmark's proxy (or final recipe) and report accuracy, score and cost; cached."""
    from nasbench_shrink.benchmarks import get_benchmark
    from nasbench_shrink.cache import EvaluationCache
    from nasbench_shrink.evaluation import check_cell, evaluate

    bench = get_benchmark(benchmark)
    cell = read_cell(cell_file, bench.space)
    check_cell(cell, bench)
    store = None if no_cache else EvaluationCache(cache)
    with console.status(f"evaluating on {bench.name}...", spinner="dots") if not as_json else nullcontext():
        rec = evaluate(cell, bench, seed=seed, cache=store, data_dir=data_dir, device=device, threads=threads,
                       stage="final" if final else "proxy")
    out = rec.summary()
    if as_json:
        print_json(out)
        return
    console.print(str(cell), highlight=False)
    hit = " (cache hit: original cost)" if rec.cache_hit else ""
    console.print(
        f"{bench.name} {'final test' if final else 'proxy val'} {bench.metric} {rec.perf:.4f}  score {rec.score:.4f}  "
        f"{rec.macs / 1e6:.3f} M MACs  {rec.params / 1e3:.1f} k params  {rec.epochs} epochs ({rec.stop_reason})  "
        f"{rec.cost_s:.2f} s  {rec.train_flops:.3g} train FLOPs{hit}", highlight=False)


@app.command("random-graphs")
@user_errors
def random_graphs_cmd(
    generator: str = typer.Option(..., "--generator", "-g", help="Random-graph generator: ws, er or ba."),
    benchmark: str = typer.Option("digits", "--benchmark", "-b", help="Benchmark whose final network is built."),
    nodes: int = typer.Option(15, "--nodes", help="Generator nodes (the paper's N = 15); the cell adds its input."),
    graphs: int = typer.Option(10, "--graphs", help="How many graphs (the paper: 10)."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Seed of the graph draws and of training."),
    macs_only: bool = typer.Option(False, "--macs-only", help="Cost the final networks only; train nothing."),
    cells_per_stage: Optional[int] = typer.Option(None, "--cells-per-stage", min=1,
                                                  help="Override the final network's T."),
    aggregation: Optional[str] = typer.Option(None, "--aggregation", help="Override node aggregation: concat|sum."),
    data_dir: Optional[Path] = DataDirOpt,
    cache: str = CacheOpt,
    no_cache: bool = typer.Option(False, "--no-cache", help="Train even if cached; store nothing."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda ... (default: CUDA if present)."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="torch threads (default: all cores)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (rows and summary)."),
) -> None:
    """Table 4's random rows: G graphs of one generator, each final-trained, reported as mean ± std."""
    from rich.progress import Progress

    from nasbench_shrink.benchmarks import get_benchmark
    from nasbench_shrink.cache import EvaluationCache
    from nasbench_shrink.random_graphs import final_benchmark, graph_cells, random_graph_rows, summarize_rows
    from search_spaces.configs import AGGREGATIONS

    if aggregation is not None and aggregation not in AGGREGATIONS:
        raise UserError(f"unknown --aggregation {aggregation!r}; choose one of {', '.join(AGGREGATIONS)}")
    base = get_benchmark(benchmark)
    if base.space != "cnn":
        raise UserError(f"random graphs are CNN cells; {base.name} searches {base.space} cells")
    bench = final_benchmark(base, cells_per_stage=cells_per_stage, aggregation=aggregation)
    cells = graph_cells(generator, nodes, graphs, bench.space, seed)
    store = None if (no_cache or macs_only) else EvaluationCache(cache)
    with Progress(console=err_console, disable=as_json or not err_console.is_terminal) as progress:
        task = progress.add_task(f"{generator} graphs on {bench.name}", total=len(cells))
        rows = random_graph_rows(bench, cells, train=not macs_only, seed=seed, cache=store, data_dir=data_dir,
                                 device=device, threads=threads, on_row=lambda _: progress.advance(task))
    summary = {"generator": generator, "benchmark": bench.name, "graph_nodes": nodes, "graphs": graphs,
               "seed": seed, "final_network": bench.final.network.to_dict(), **summarize_rows(rows, bench.metric)}
    if as_json:
        print_json({"summary": summary, "rows": [{k: v for k, v in r.items() if k != "cell"} for r in rows]})
        return
    table = Table(title=f"{generator.upper()} (N = {nodes}) on {bench.name}, final network")
    cols = ["graph", "edges", "macs", "params"] + ([] if macs_only else [bench.metric])
    for c in cols:
        table.add_column(c, justify="right")
    for r in rows:
        table.add_row(str(r["graph"]), str(r["edges"]), f"{r['macs'] / 1e6:.2f} M", f"{r['params'] / 1e3:.1f} k",
                      *([] if macs_only else [f"{r[bench.metric]:.4f}"]))
    console.print(table)
    line = f"MACs {summary['macs_mean'] / 1e6:.2f} ± {summary['macs_std'] / 1e6:.2f} M"
    if not macs_only:
        line += f"  {bench.metric} {summary[bench.metric + '_mean']:.4f} ± {summary[bench.metric + '_std']:.4f}"
    console.print(line, highlight=False)


@app.command("strategies")
@user_errors
def strategies_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the search strategies (built-ins, entry points of group nasbench_shrink.strategies)."""
    from nasbench_shrink.registry import strategies

    rows = [{"name": s.name, "source": s.source, "description": s.description} for s in strategies().values()]
    if as_json:
        print_json(rows)
        return
    table = Table(title="strategies (also: --strategy module.path:factory)")
    for col in ("name", "source", "description"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["name"], r["source"], r["description"])
    console.print(table)


def _budget(evals: Optional[int], flops: Optional[float], seconds: Optional[float]) -> tuple[str | None, float | None]:
    given = [(k, v) for k, v in (("evals", evals), ("flops", flops), ("seconds", seconds)) if v is not None]
    if len(given) > 1:
        raise UserError("pass at most one of --budget-evals, --budget-flops, --budget-seconds")
    return given[0] if given else (None, None)


@app.command("search")
@user_errors
def search_cmd(
    strategy: str = typer.Option(..., "--strategy", "-s", help="Strategy name (see 'strategies') or module:factory."),
    benchmark: str = typer.Option("digits", "--benchmark", "-b", help="Benchmark preset."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Seed of the strategy and of training."),
    storage: str = typer.Option("sqlite:///results/studies.db", "--storage", help="Optuna storage URL."),
    study: Optional[str] = typer.Option(None, "--study", help="Study name (default <benchmark>/<strategy>/seed<k>)."),
    nodes: Optional[int] = typer.Option(None, "--nodes", min=2, help="Cell nodes N (default: the benchmark's)."),
    k: Optional[int] = typer.Option(None, "--k", min=1, help="AutoShrink candidates per step (default: benchmark's)."),
    lam: Optional[float] = typer.Option(None, "--lam", help="Resource weight in the score (default: benchmark's)."),
    budget_evals: Optional[int] = typer.Option(None, "--budget-evals", min=1, help="Stop after N evaluations."),
    budget_flops: Optional[float] = typer.Option(None, "--budget-flops", help="Stop after F charged train FLOPs."),
    budget_seconds: Optional[float] = typer.Option(None, "--budget-seconds", help="Stop after S charged seconds."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Local worker processes on the same storage."),
    data_dir: Optional[Path] = DataDirOpt,
    cache: str = CacheOpt,
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not use the evaluation cache."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda ... (default: CUDA if present)."),
    heartbeat: float = typer.Option(5.0, "--heartbeat", help="Seconds between trial heartbeats (stale after 3x)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Run (or resume) a strategy as an Optuna study and print the best cell."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from nasbench_shrink.budget import charged
    from nasbench_shrink.search import SearchSpec, run_search, study_summary

    kind, amount = _budget(budget_evals, budget_flops, budget_seconds)
    spec = SearchSpec(strategy=strategy, benchmark=benchmark, seed=seed, storage=storage, study=study, nodes=nodes,
                      k=k, lam=lam, budget_kind=kind, budget=amount, data_dir=str(data_dir) if data_dir else None,
                      cache=None if no_cache else cache, device=device, heartbeat=heartbeat)
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                        TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), console=err_console,
                        disable=as_json or not err_console.is_terminal)
    with progress:
        task = progress.add_task(f"{spec.study_name}", total=amount, stats="starting")

        def update(st) -> None:
            trials = st.get_trials(deepcopy=False)
            cost = charged(trials)
            done = [t for t in trials if t.value is not None]
            best = max((t.value for t in done), default=float("nan"))
            progress.update(task, completed=cost[kind] if kind else None,
                            stats=f"evals {int(cost['evals'])}  cost {cost['seconds']:.1f}s  best {best:.4f}")

        result = run_search(spec, workers=workers, on_progress=update)
    summary = study_summary(result)
    if as_json:
        print_json(summary)
        return
    console.print(f"study {summary['study']}: {summary['complete']} trials, {summary['charged_evaluations']:.0f} "
                  f"charged evaluations ({summary['cache_hits']} cache hits, {summary['free_repeats']} free repeats), "
                  f"charged {summary['charged_seconds']:.1f} s / {summary['charged_flops']:.3g} FLOPs", highlight=False)
    if "best_score" in summary:
        metric = "accuracy" if summary.get("accuracy") is not None else "perplexity"
        console.print(f"best trial #{summary['best_trial']}: score {summary['best_score']:.4f}, {metric} "
                      f"{summary[metric]:.4f}, {summary['macs'] / 1e6:.3f} M MACs, {summary['params']} params, "
                      f"{summary['edges']} edges", highlight=False)
        console.print(str(Cell.from_dict(summary["cell"])), highlight=False)
        console.print(json.dumps(summary["cell"]), highlight=False, soft_wrap=True)


MAX_SEED = 2**32 - 1  # what numpy's and Optuna's seeded generators accept


def _int_list(text: str, what: str) -> list[int]:
    """``0,1,2``, ``0-24`` or a mix (``0-2,7``) as a list of integers."""
    out: list[int] = []
    try:
        for part in (x.strip() for x in text.split(",")):
            if not part:
                continue
            lo, sep, hi = part.partition("-")
            if sep and lo:
                if int(hi) < int(lo):
                    raise ValueError(part)
                out.extend(range(int(lo), int(hi) + 1))
            else:
                out.append(int(part))
    except ValueError:
        raise UserError(f"{what} must be comma-separated integers or ranges, e.g. 0,1,2 or 0-24 "
                        f"(got {text!r})") from None
    bad = [v for v in out if not 0 <= v <= MAX_SEED]
    if bad:
        raise UserError(f"{what} must be between 0 and {MAX_SEED} (got {bad[0]}); e.g. 0-24")
    return out


@app.command("tabulate")
@user_errors
def tabulate_cmd(
    benchmark: str = typer.Option("digits", "--benchmark", "-b", help="Live benchmark to tabulate."),
    nodes: int = typer.Option(5, "--nodes", min=2, max=6, help="Cell nodes N of the space (every architecture)."),
    seeds: str = typer.Option("0,1,2", "--seeds", help="Seeds: 0,1,2 or 0-2."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Local worker processes."),
    cache: str = typer.Option("sqlite:///results/tabulate.db", "--cache",
                              help="Evaluation cache (resume point; a PostgreSQL URL shares it across machines)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Table file to write (Parquet) when done."),
    partial: bool = typer.Option(False, "--partial", help="Export what the cache holds now; train nothing."),
    resume_from: Optional[Path] = typer.Option(None, "--resume-from", help="Load a (partial) table into the "
                                                                          "cache first, then continue."),
    data_dir: Optional[Path] = DataDirOpt,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Train every architecture of the N-node space at every seed (resumable), then export the table."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    from nasbench_shrink.benchmarks import get_benchmark
    from nasbench_shrink.tabulate import tabulate

    bench = get_benchmark(benchmark)
    progress = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                        TaskProgressColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=err_console,
                        disable=as_json)
    with progress:
        task = progress.add_task(f"tabulating {bench.name} N={nodes}", total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        summary = tabulate(bench, nodes, _int_list(seeds, "--seeds"), cache, out, workers=workers,
                           data_dir=str(data_dir) if data_dir else None, partial=partial, resume_from=resume_from,
                           on_progress=update)
    if as_json:
        print_json(summary)
        return
    console.print(f"{summary['done']} of {summary['evaluations']} evaluations ({summary['architectures']} "
                  f"architectures x {len(summary['seeds'])} seeds) in {summary['cache']}; this run "
                  f"{summary['seconds']:.0f} s" + (f"; wrote {summary['out']}" if "out" in summary else ""),
                  highlight=False)


@app.command("landscape")
@user_errors
def landscape_cmd(
    benchmark: list[str] = typer.Option(..., "--benchmark", "-b", help="A table benchmark (see 'benchmarks'); "
                                        "repeat -b to set tables side by side."),
    lam: Optional[float] = typer.Option(None, "--lam", help="Resource weight (default: each benchmark's)."),
    png: Optional[Path] = typer.Option(None, "--png", help="Also draw the landscape to this PNG (one -b)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (a list with several -b)."),
) -> None:
    """What a table's search problem looks like: scores, the optimum, noise, how hard random search finds it."""
    from nasbench_shrink import landscape
    from nasbench_shrink.benchmarks import get_benchmark
    from nasbench_shrink.tabular import TableLookup

    if lam is not None and lam < 0:
        raise UserError(f"--lam must be >= 0 (got {lam})")
    if png is not None and len(benchmark) > 1:
        raise UserError(f"--png draws one table's landscape; pass one -b (got {len(benchmark)})")
    infos = []
    for name in benchmark:
        bench = get_benchmark(name)
        if not isinstance(bench.evaluator, TableLookup):
            raise UserError(f"{bench.name} is a live benchmark; landscape needs a table (make one with "
                            "'nasbench-shrink tabulate')")
        info = landscape.summary(bench.evaluator.table, bench, lam)
        if png is not None:
            landscape.landscape_figure(bench.evaluator.table, bench, png, lam)
            info["png"] = str(png)
        infos.append((bench.metric, info))
    if as_json:
        print_json(infos[0][1] if len(infos) == 1 else [info for _, info in infos])
    elif len(infos) == 1:
        console.print("\n".join(_landscape_lines(*infos[0])), highlight=False)
    else:
        console.print(_landscape_side_by_side(infos))


def _landscape_lines(m: str, info: dict) -> list[str]:
    o = info["optimum"]
    test = o["test_" + m]
    lines = [
        f"{info['benchmark']} at λ = {info['lam']:g}: {info['architectures']} architectures x seeds {info['seeds']}",
        f"score: mean {info['score_mean']:.4f}, std {info['score_std']:.4f}, top 1 % above "
        f"{info['score_quantiles'][0.99]:.4f}",
        f"optimum: score {o['score']:.4f}, {o['edges']} active edges, {o['macs']} MACs, {m} {o[m]:.4f} "
        f"(held-out test {test if test is None else round(test, 4)})",
        *_hardness_lines(info["hardness"]),
        f"local optima under one-edge removal/addition: {info['local_optima_one_edge']}; Pareto front "
        f"(accuracy vs MACs): {info['pareto_front_size']} architectures",
    ]
    if f"spearman_val_vs_test_{m}" in info:
        lines.append(f"Spearman, proxy validation vs held-out test across architectures: "
                     f"{info[f'spearman_val_vs_test_{m}']:.3f}")
    if "spearman_between_seeds" in info:
        pairs = ", ".join(f"{p} {v:.3f}" for p, v in info["spearman_between_seed_pairs"].items())
        lines.append(f"Spearman between seeds (the noise ceiling): mean {info['spearman_between_seeds']:.3f}, min "
                     f"{info['spearman_between_seeds_min']:.3f} ({pairs})")
    if "png" in info:
        lines.append(f"figure: {info['png']}")
    return lines


def _hardness_lines(h: dict) -> list[str]:
    r = h["random"]
    within = ", ".join(f"{b}: {p:.3f}" for b, p in r["p_top1pct_within"].items())
    med = r["median_evals_to_top1pct"]
    return [f"random strategy (edges kept with p ½, ops uniform): a top-1 % cell ({h['top1pct_architectures']} "
            f"architectures) with probability {r['p_top1pct_per_draw']:.4f} per draw; median "
            f"{'>1000' if med is None else med} charged evaluations to reach one (repeats free); P(reached within b "
            f"evaluations) {within}",
            f"one-edge-removal paths from the complete DAG through a top-1 % cell: "
            f"{h['autoshrink_paths_through_top1pct']:.3f} (uniform removals, seeded start ops)",
            f"fitness-distance correlation: {h['fitness_distance_fdc']:.3f} (distance in mutations from the "
            f"optimum, at most {h['fitness_distance_max_distance']})"]


def _landscape_side_by_side(infos: list[tuple[str, dict]]) -> Table:
    """Several tables' search problems as one table: a row per landscape figure, a column per benchmark."""
    def num(x, fmt):
        return "–" if x is None else format(x, fmt)

    rows = [
        ("λ", lambda m, i: f"{i['lam']:g}"),
        ("architectures × seeds", lambda m, i: f"{i['architectures']} × {len(i['seeds'])}"),
        ("score mean (std)", lambda m, i: f"{i['score_mean']:.4f} ({i['score_std']:.4f})"),
        ("optimum: active edges", lambda m, i: str(i["optimum"]["edges"])),
        ("optimum: MACs", lambda m, i: f"{i['optimum']['macs']:,}"),
        ("optimum: validation / test", lambda m, i: f"{num(i['optimum'][m], '.4f')} / "
                                                    f"{num(i['optimum']['test_' + m], '.4f')}"),
        ("random: P(top 1 %) per draw", lambda m, i: f"{i['hardness']['random']['p_top1pct_per_draw']:.4f}"),
        ("random: evals to top 1 % (median)", lambda m, i: str(i["hardness"]["random"]["median_evals_to_top1pct"])),
        ("random: P(top 1 % within 50 evals)",
         lambda m, i: f"{i['hardness']['random']['p_top1pct_within']['50']:.3f}"),
        ("shrink paths through top 1 %", lambda m, i: f"{i['hardness']['autoshrink_paths_through_top1pct']:.3f}"),
        ("fitness-distance correlation", lambda m, i: f"{i['hardness']['fitness_distance_fdc']:.3f}"),
        ("local optima (one edge)", lambda m, i: str(i["local_optima_one_edge"])),
        ("Pareto front size", lambda m, i: str(i["pareto_front_size"])),
        ("Spearman validation vs test", lambda m, i: num(i.get(f"spearman_val_vs_test_{m}"), ".3f")),
        ("Spearman between seeds (mean / min)", lambda m, i: f"{num(i.get('spearman_between_seeds'), '.3f')} / "
                                                            f"{num(i.get('spearman_between_seeds_min'), '.3f')}"),
    ]
    view = Table(title="landscapes")
    view.add_column("")
    for _, info in infos:
        view.add_column(info["benchmark"], justify="right")
    for label, cell in rows:
        view.add_row(label, *(cell(m, info) for m, info in infos))
    return view


@app.command("compare")
@user_errors
def compare_cmd(
    benchmark: str = typer.Option(DEFAULT_COMPARE_BENCHMARK, "--benchmark", "-b",
                                  help="Benchmark preset (default: the shipped cifar10-small table: lookups, no "
                                  "training)."),
    strategies: str = typer.Option("all", "--strategies", help="Comma-separated strategy names, 'all' (every "
                                   "built-in), module.path:factory or file.py:factory; e.g. all,my.py:factory."),
    seeds: Optional[str] = typer.Option(None, "--seeds", help="Seeds: 0,1,2 or 0-99 (default: 100 on a table, "
                                        "3 live)."),
    budget_evals: Optional[int] = typer.Option(None, "--budget-evals", min=1, help="Evaluations per run."),
    budget_flops: Optional[float] = typer.Option(None, "--budget-flops", help="Charged training FLOPs per run."),
    budget_seconds: Optional[float] = typer.Option(None, "--budget-seconds", help="Charged seconds per run."),
    workers: int = typer.Option(0, "--workers", "-w", min=0, help="Worker processes (0: number of cores)."),
    storage: Optional[str] = typer.Option(None, "--storage", help="Optuna storage URL (default <out>/studies.db)."),
    cache: Optional[str] = typer.Option(None, "--cache", help="Evaluation cache URL (default <out>/cache.db)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default results/<benchmark>-<time>)."),
    data_dir: Optional[Path] = DataDirOpt,
    nodes: Optional[int] = typer.Option(None, "--nodes", min=2, help="AutoShrink's N (default: the benchmark's)."),
    k: Optional[int] = typer.Option(None, "--k", min=1, help="AutoShrink's K (default: the benchmark's)."),
    final: bool = typer.Option(True, "--final/--no-final", help="Final evaluation of each run's best cell."),
    lease: float = typer.Option(60.0, "--lease", min=1.0, help="Seconds after which the run of a worker that "
                                "stopped renewing its claim (killed, machine lost) is taken over."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary rows as JSON."),
) -> None:
    """Compare strategies x seeds under one budget; write CSVs, figures and report.md.

    The work is a plan in the study storage: 'nasbench-shrink worker --storage URL' on other machines joins it.

    With no budget, the strategies that set the automatic budget (AutoShrink) run first and every other strategy
    at seed s gets what they spent at seed s (paired runs of equal cost); a --budget-* flag fixes one budget for
    all (add autoshrink-restarts to let AutoShrink spend it). A run pays for each architecture once: a repeat is
    free. Rerunning the same command continues unfinished runs and reuses finished ones.
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from nasbench_shrink.compare import DEFAULT_STRATEGIES, CompareSpec, run_compare

    names: list[str] = []
    for x in (x.strip() for x in strategies.split(",")):  # 'all' stands for every built-in, plug-ins may follow
        names += [n for n in (DEFAULT_STRATEGIES if x == "all" else [x] if x else []) if n not in names]
    kind, amount = _budget(budget_evals, budget_flops, budget_seconds)
    if seeds is None:
        from nasbench_shrink.benchmarks import get_benchmark

        seeds = f"0-{get_benchmark(benchmark).default_seeds - 1}"
    spec = CompareSpec(benchmark=benchmark, strategies=names, seeds=_int_list(seeds, "--seeds"),
                       budget_kind=kind or "flops", budget=amount, workers=workers,
                       out=str(out) if out else None, storage=storage, cache=cache,
                       data_dir=str(data_dir) if data_dir else None, final=final, nodes=nodes, k=k, lease_s=lease)
    progress = Progress(SpinnerColumn(), TextColumn("{task.description:<28}"), TextColumn("{task.fields[stats]}"),
                        TimeElapsedColumn(), console=err_console, disable=as_json)
    tasks: dict[str, int] = {}

    def update(snap: dict[str, dict]) -> None:
        for name, r in snap.items():
            if name not in tasks:
                tasks[name] = progress.add_task(r["strategy"], stats="")
            best = "–" if r["best"] is None else f"{r['best']:.4f}"
            progress.update(tasks[name], stats=f"runs {r['runs']:>3}/{r['seeds']}  trials {r['evals']:>6}  "
                                               f"best score {best}")

    with progress:
        folder = run_compare(spec, on_progress=update)
    import pandas as pd

    summary = pd.read_csv(folder / "summary.csv")
    if as_json:
        print_json({"out": str(folder), "runs": summary.drop(columns=["best_cell"]).to_dict(orient="records")})
        return
    console.print(f"wrote {folder}/report.md, trials.csv, summary.csv and the figures", highlight=False)
    console.print(final_table_view(summary, spec.budget_kind))


@app.command("worker")
@user_errors
def worker_cmd(
    storage: Optional[str] = typer.Option(None, "--storage", help="Study storage URL of a comparison to join."),
    cache: Optional[str] = typer.Option(None, "--cache", help="Evaluation cache URL: a tabulation to join, and the "
                                        "cache a joined comparison uses from this machine."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Worker processes on this machine."),
    run: Optional[str] = typer.Option(None, "--run", help="Join only this run (default: every open run)."),
    wait: float = typer.Option(0.0, "--wait", min=0.0, help="Seconds to wait for a run to appear if none is open."),
    data_dir: Optional[Path] = DataDirOpt,
) -> None:
    """Join the open comparisons and tabulations in a shared database: take the next unit of work, run it, repeat;
    leave when nothing is left. A worker killed mid-unit is replaced by the next one that claims its unit."""
    import os

    from nasbench_shrink.plan import Context, work
    from nasbench_shrink.workers import WorkerPool

    urls = [u for u in (storage, cache) if u]
    if not urls:
        fail("pass --storage URL (a comparison's study storage) and/or --cache URL (a tabulation's cache)")
    threads = max(1, (os.cpu_count() or 1) // workers)
    ctx = Context(threads=threads, data_dir=str(data_dir) if data_dir else None, cache=cache,
                  watch_parent=workers > 1)
    if workers == 1:
        ran = work(urls, ctx, run, wait_s=wait,
                   on_unit=lambda c: err_console.print(f"[{c.run_id}] {c.label} (attempt {c.attempt})",
                                                      highlight=False))
    else:
        with WorkerPool(workers) as pool:
            ran = sum(pool.run([(work, (urls, ctx, run, 1.0, None, wait))] * workers))
    console.print(f"ran {ran} units; nothing left to claim", highlight=False)


def final_table_view(summary, kind: str) -> Table:
    """The report's final table for a terminal (fits 100 columns): IQM [95 % CI] and the test verdict."""
    from nasbench_shrink.report import _LABELS, _SCALE, comparison

    table, columns, target, reference = comparison(summary, kind)
    view = Table(title=f"final table (IQM over {int(table['seeds'].max())} seeds; vs {reference or '–'}: "
                       "Wilcoxon + Holm)", title_justify="left")
    view.add_column("strategy", max_width=14, overflow="ellipsis")
    for c in columns:
        view.add_column(_LABELS.get(c, c), justify="right", no_wrap=True)
    view.add_column("vs ref", max_width=20)

    def num(v: float, col: str, digits: int = 4) -> str:
        return "–" if v is None or v != v else f"{v * _SCALE.get(col, 1.0):.{digits}g}"

    for _, r in table.iterrows():
        cells = [f"{num(r[target], target, 3)} [{num(r[target + '_lo'], target, 2)}, "
                 f"{num(r[target + '_hi'], target, 2)}]"
                 if c == target else num(r.get(c), c) for c in columns]
        verdict = r["verdict"] if r["verdict"] in ("reference", "not significant", "") else \
            f"{r['verdict']} p={r['p_holm']:.2g}"
        view.add_row(r["strategy"], *cells, verdict.replace("not significant", "n.s.") or "–")
    return view


@app.command("report")
@user_errors
def report_cmd(
    out: Path = typer.Argument(..., help="A compare output folder."),
    x_axis: Optional[str] = typer.Option(None, "--x", help="Cost axis of the curves: evals, flops or seconds "
                                                         "(default: the budget's kind)."),
) -> None:
    """Regenerate report.md and the figures of a compare run from its CSVs."""
    from nasbench_shrink.report import write_report

    if not out.is_dir():
        raise UserError(f"{out} is not a folder; pass the folder a compare run wrote")
    console.print(f"wrote {write_report(out, x_axis)}", highlight=False)


@app.command("dashboard")
@user_errors
def dashboard_cmd(
    out: Optional[Path] = typer.Argument(None, help="A compare output folder (default: the latest in results/)."),
    storage: Optional[str] = typer.Option(None, "--storage", help="Storage URL instead of a folder."),
    port: int = typer.Option(0, "--port", help="Port (0: a free one)."),
) -> None:
    """Serve optuna-dashboard on 127.0.0.1 for a compare run's (or any) storage."""
    from nasbench_shrink.dashboard import resolve_storage, serve

    url = storage or resolve_storage(out)
    serve(url, port=port, announce=lambda u: console.print(f"optuna-dashboard on {u}  (storage {url}); Ctrl+C "
                                                           "stops it", highlight=False))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
