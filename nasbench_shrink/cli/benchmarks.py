"""Commands about benchmarks and single cells: ``benchmarks``, ``show``, ``evaluate``, ``random-graphs``."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import typer
from rich.table import Table

from nasbench_shrink.cli._common import (
    CacheOpt,
    DataDirOpt,
    app,
    console,
    err_console,
    print_json,
    read_cell,
    user_errors,
    writable,
)
from nasbench_shrink.errors import UserError


@app.command("benchmarks")
@user_errors
def benchmarks_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the benchmark presets."""
    from nasbench_shrink.catalogue import list_benchmarks

    rows = [
        {
            "name": b.name,
            "space": b.space,
            "dataset": b.dataset,
            "lam": b.lam,
            "nodes": b.nodes,
            "k": b.k,
            "fidelity": b.fidelity_key("proxy"),
            "description": b.description,
            **(b.evaluator.describe() if b.evaluator is not None else {}),
        }
        for b in list_benchmarks()
    ]
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
    png: Path | None = typer.Option(None, "--png", help="Also draw the pruned cell to this PNG."),
    data_dir: Path | None = DataDirOpt,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a cell pruned, its key, and the cost of the benchmark's search-time network (no training)."""
    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.evaluation.evaluator import check_cell, network_resources
    from nasbench_shrink.evaluation.networks import networks_of

    bench = get_benchmark(benchmark)
    writable(png, "--png")
    cell = read_cell(cell_file, bench.space)
    check_cell(cell, bench)
    macs, params = network_resources(cell, bench, "proxy", data_dir)
    info = {
        "key": cell.key,
        "benchmark": bench.name,
        "macs": macs,
        "params": params,
        "edges": len(cell.active_edges),
        "active_nodes": list(cell.active_nodes),
        "leaves": list(cell.leaves),
        "cell": cell.to_dict(),
        "pruned": cell.pruned().to_dict(),
    }
    info.update(networks_of(bench).describe(bench, data_dir))
    if png is not None:
        from nasbench_shrink.analysis.draw import save_cell_png

        try:
            info["png"] = str(save_cell_png(cell, png))
        except OSError as exc:
            raise UserError(f"cannot write {png} ({exc.strerror}); pass a writable --png path") from None
    if as_json:
        print_json(info)
        return
    console.print(str(cell), highlight=False)
    unit = bench.kind.unit
    console.print(
        f"key {info['key']}  |  {bench.name} network: {macs / 1e6:.3f} M MACs per {unit}, {params / 1e3:.1f} k params",
        highlight=False,
    )
    if png is not None:
        console.print(f"drawing: {info['png']}")


@app.command("evaluate")
@user_errors
def evaluate_cmd(
    cell_file: str = typer.Argument(..., help="Cell JSON file, '-' for stdin, or complete:N[:SEED]."),
    benchmark: str = typer.Option("digits", "--benchmark", "-b", help="Benchmark preset (see 'benchmarks')."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Training seed (weights and batch order)."),
    data_dir: Path | None = DataDirOpt,
    cache: str = CacheOpt,
    no_cache: bool = typer.Option(False, "--no-cache", help="Train even if cached; store nothing."),
    final: bool = typer.Option(False, "--final", help="Final evaluation (final recipe, held-out test split)."),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda, cuda:1 ... (default: CUDA if present)."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="torch threads (default: all cores)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Train a cell on a benchmark's proxy (or final recipe) and report accuracy, score and cost; cached."""
    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.evaluation.cache import EvaluationCache
    from nasbench_shrink.evaluation.evaluator import check_cell, evaluate

    bench = get_benchmark(benchmark)
    cell = read_cell(cell_file, bench.space)
    check_cell(cell, bench)
    store = None if no_cache else EvaluationCache(cache)
    with console.status(f"evaluating on {bench.name}...", spinner="dots") if not as_json else nullcontext():
        rec = evaluate(
            cell,
            bench,
            seed=seed,
            cache=store,
            data_dir=data_dir,
            device=device,
            threads=threads,
            stage="final" if final else "proxy",
        )
    out = rec.summary()
    if as_json:
        print_json(out)
        return
    console.print(str(cell), highlight=False)
    hit = " (cache hit: original cost)" if rec.cache_hit else ""
    console.print(
        f"{bench.name} {'final test' if final else 'proxy val'} {bench.metric} {rec.perf:.4f}  score {rec.score:.4f}  "
        f"{rec.macs / 1e6:.3f} M MACs  {rec.params / 1e3:.1f} k params  {rec.epochs} epochs ({rec.stop_reason})  "
        f"{rec.cost_s:.2f} s  {rec.train_flops:.3g} train FLOPs{hit}",
        highlight=False,
    )


@app.command("random-graphs")
@user_errors
def random_graphs_cmd(
    generator: str = typer.Option(..., "--generator", "-g", help="Random-graph generator: ws, er or ba."),
    benchmark: str = typer.Option("digits", "--benchmark", "-b", help="Benchmark whose final network is built."),
    nodes: int = typer.Option(15, "--nodes", help="Generator nodes (the paper's N = 15); the cell adds its input."),
    graphs: int = typer.Option(10, "--graphs", help="How many graphs (the paper: 10)."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Seed of the graph draws and of training."),
    macs_only: bool = typer.Option(False, "--macs-only", help="Cost the final networks only; train nothing."),
    cells_per_stage: int | None = typer.Option(
        None, "--cells-per-stage", min=1, help="Override the final network's T."
    ),
    aggregation: str | None = typer.Option(None, "--aggregation", help="Override node aggregation: concat|sum."),
    data_dir: Path | None = DataDirOpt,
    cache: str = CacheOpt,
    no_cache: bool = typer.Option(False, "--no-cache", help="Train even if cached; store nothing."),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda ... (default: CUDA if present)."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="torch threads (default: all cores)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (rows and summary)."),
) -> None:
    """Table 4's random rows: G graphs of one generator, each final-trained, reported as mean ± std."""
    from rich.progress import Progress

    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.evaluation.cache import EvaluationCache
    from nasbench_shrink.runs.random_graphs import final_benchmark, graph_cells, random_graph_rows, summarize_rows
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
        rows = random_graph_rows(
            bench,
            cells,
            train=not macs_only,
            seed=seed,
            cache=store,
            data_dir=data_dir,
            device=device,
            threads=threads,
            on_row=lambda _: progress.advance(task),
        )
    summary = {
        "generator": generator,
        "benchmark": bench.name,
        "graph_nodes": nodes,
        "graphs": graphs,
        "seed": seed,
        "final_network": bench.final.network.to_dict(),
        **summarize_rows(rows, bench.metric),
    }
    if as_json:
        print_json({"summary": summary, "rows": [{k: v for k, v in r.items() if k != "cell"} for r in rows]})
        return
    table = Table(title=f"{generator.upper()} (N = {nodes}) on {bench.name}, final network")
    cols = ["graph", "edges", "macs", "params"] + ([] if macs_only else [bench.metric])
    for c in cols:
        table.add_column(c, justify="right")
    for r in rows:
        table.add_row(
            str(r["graph"]),
            str(r["edges"]),
            f"{r['macs'] / 1e6:.2f} M",
            f"{r['params'] / 1e3:.1f} k",
            *([] if macs_only else [f"{r[bench.metric]:.4f}"]),
        )
    console.print(table)
    line = f"MACs {summary['macs_mean'] / 1e6:.2f} ± {summary['macs_std'] / 1e6:.2f} M"
    if not macs_only:
        line += f"  {bench.metric} {summary[bench.metric + '_mean']:.4f} ± {summary[bench.metric + '_std']:.4f}"
    console.print(line, highlight=False)
