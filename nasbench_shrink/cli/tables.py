"""Commands about tables: ``tabulate``, ``landscape``, ``proxies``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from nasbench_shrink.cli._common import (
    DataDirOpt,
    app,
    console,
    err_console,
    int_list,
    print_json,
    user_errors,
    writable,
)
from nasbench_shrink.errors import UserError


@app.command("tabulate")
@user_errors
def tabulate_cmd(
    benchmark: str = typer.Option("digits", "--benchmark", "-b", help="Live benchmark to tabulate."),
    nodes: int = typer.Option(5, "--nodes", min=2, max=6, help="Cell nodes N of the space (every architecture)."),
    seeds: str = typer.Option("0,1,2", "--seeds", help="Seeds: 0,1,2 or 0-2."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Local worker processes."),
    cache: str = typer.Option(
        "sqlite:///results/tabulate.db",
        "--cache",
        help="Evaluation cache (resume point; a PostgreSQL URL shares it across machines).",
    ),
    out: Path | None = typer.Option(None, "--out", help="Table file to write (Parquet) when done."),
    partial: bool = typer.Option(False, "--partial", help="Export what the cache holds now; train nothing."),
    resume_from: Path | None = typer.Option(
        None, "--resume-from", help="Load a (partial) table into the cache first, then continue."
    ),
    data_dir: Path | None = DataDirOpt,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Train every architecture of the N-node space at every seed (resumable), then export the table."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.runs.tabulate import tabulate

    bench = get_benchmark(benchmark)
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=as_json,
    )
    with progress:
        task = progress.add_task(f"tabulating {bench.name} N={nodes}", total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        summary = tabulate(
            bench,
            nodes,
            int_list(seeds, "--seeds"),
            cache,
            out,
            workers=workers,
            data_dir=str(data_dir) if data_dir else None,
            partial=partial,
            resume_from=resume_from,
            on_progress=update,
        )
    if as_json:
        print_json(summary)
        return
    console.print(
        f"{summary['done']} of {summary['evaluations']} evaluations ({summary['architectures']} "
        f"architectures x {len(summary['seeds'])} seeds) in {summary['cache']}; this run "
        f"{summary['seconds']:.0f} s" + (f"; wrote {summary['out']}" if "out" in summary else ""),
        highlight=False,
    )


@app.command("landscape")
@user_errors
def landscape_cmd(
    benchmark: list[str] = typer.Option(
        ..., "--benchmark", "-b", help="A table benchmark (see 'benchmarks'); repeat -b to set tables side by side."
    ),
    lam: float | None = typer.Option(None, "--lam", help="Resource weight (default: each benchmark's)."),
    png: Path | None = typer.Option(None, "--png", help="Also draw the landscape to this PNG (one -b)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (a list with several -b)."),
) -> None:
    """What a table's search problem looks like: scores, the optimum, noise, how hard random search finds it."""
    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.tables import landscape

    if lam is not None and lam < 0:
        raise UserError(f"--lam must be >= 0 (got {lam})")
    if png is not None and len(benchmark) > 1:
        raise UserError(f"--png draws one table's landscape; pass one -b (got {len(benchmark)})")
    writable(png, "--png")
    infos = []
    for name in benchmark:
        bench = get_benchmark(name)
        land = bench.evaluator.landscape(bench) if bench.evaluator is not None else None
        if land is not None and not land.enumerated:  # a surrogate: what can be known of a space not enumerated
            if png is not None or len(benchmark) > 1 or lam is not None:
                raise UserError(f"{bench.name} is a surrogate: landscape takes it alone, without --png or --lam")
            _surrogate_landscape(bench, land, as_json)
            return
        if bench.table is None:
            raise UserError(
                f"{bench.name} is a live benchmark; landscape needs a table or a surrogate (make a table with "
                "'nasbench-shrink tabulate')"
            )
        info = landscape.summary(bench.table, bench, lam)
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


def _surrogate_landscape(bench, land, as_json: bool) -> None:
    """What a surrogate knows: its data, its noise model, its best known cell and top-1 % threshold (not an
    optimum: the space is not enumerated)."""
    from search_spaces import Cell

    s = bench.evaluator.surrogate
    best = Cell.from_dict(land.known["best_cell"])
    info = {
        **bench.evaluator.describe(),
        "noise_sd": s.noise_sd,
        "noise_cells": s.noise_cells,
        "best_known": {
            "score": land.best_score,
            "mean_" + bench.metric: land.mean_perf[best.key],
            "edges": len(best.active_edges),
            "macs": land.macs[best.key],
            "cell": land.known["best_cell"],
            "how": land.known["method"],
        },
        "top1pct_threshold": land.threshold,
    }
    if as_json:
        print_json(info)
        return
    b = info["best_known"]
    console.print(
        "\n".join(
            [
                f"{bench.name}: a surrogate of {info['live']} at N = {info['surrogate_nodes']}, fitted on "
                f"{info['architectures_trained']} trained architectures ({info['rows']} rows)",
                f"one seed's noise: SD {s.noise_sd:.4f} (pooled over {s.noise_cells} cells at several seeds)",
                f"best known cell (not an optimum): score {b['score']:.4f}, mean {bench.metric} "
                f"{b['mean_' + bench.metric]:.4f}, {b['edges']} active edges, {b['macs']:,} MACs",
                f"  found by {b['how']}",
                f"top-1 % threshold (true score): {land.threshold:.4f}",
            ]
        ),
        highlight=False,
    )


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
        lines.append(
            f"Spearman, proxy validation vs held-out test across architectures: {info[f'spearman_val_vs_test_{m}']:.3f}"
        )
    if "spearman_between_seeds" in info:
        pairs = ", ".join(f"{p} {v:.3f}" for p, v in info["spearman_between_seed_pairs"].items())
        lines.append(
            f"Spearman between seeds (the noise ceiling): mean {info['spearman_between_seeds']:.3f}, min "
            f"{info['spearman_between_seeds_min']:.3f} ({pairs})"
        )
    if "png" in info:
        lines.append(f"figure: {info['png']}")
    return lines


def _hardness_lines(h: dict) -> list[str]:
    r = h["random"]
    within = ", ".join(f"{b}: {p:.3f}" for b, p in r["p_top1pct_within"].items())
    med = r["median_evals_to_top1pct"]
    return [
        f"random strategy (edges kept with p ½, ops uniform): a top-1 % cell ({h['top1pct_architectures']} "
        f"architectures) with probability {r['p_top1pct_per_draw']:.4f} per draw; median "
        f"{'>1000' if med is None else med} charged evaluations to reach one (repeats free); P(reached within b "
        f"evaluations) {within}",
        f"one-edge-removal paths from the complete DAG through a top-1 % cell: "
        f"{h['autoshrink_paths_through_top1pct']:.3f} (uniform removals, seeded start ops)",
        f"fitness-distance correlation: {h['fitness_distance_fdc']:.3f} (distance in mutations from the "
        f"optimum, at most {h['fitness_distance_max_distance']})",
    ]


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
        (
            "optimum: validation / test",
            lambda m, i: f"{num(i['optimum'][m], '.4f')} / {num(i['optimum']['test_' + m], '.4f')}",
        ),
        ("random: P(top 1 %) per draw", lambda m, i: f"{i['hardness']['random']['p_top1pct_per_draw']:.4f}"),
        ("random: evals to top 1 % (median)", lambda m, i: str(i["hardness"]["random"]["median_evals_to_top1pct"])),
        ("random: P(top 1 % within 50 evals)", lambda m, i: f"{i['hardness']['random']['p_top1pct_within']['50']:.3f}"),
        ("shrink paths through top 1 %", lambda m, i: f"{i['hardness']['autoshrink_paths_through_top1pct']:.3f}"),
        ("fitness-distance correlation", lambda m, i: f"{i['hardness']['fitness_distance_fdc']:.3f}"),
        ("local optima (one edge)", lambda m, i: str(i["local_optima_one_edge"])),
        ("Pareto front size", lambda m, i: str(i["pareto_front_size"])),
        ("Spearman validation vs test", lambda m, i: num(i.get(f"spearman_val_vs_test_{m}"), ".3f")),
        (
            "Spearman between seeds (mean / min)",
            lambda m, i: (
                f"{num(i.get('spearman_between_seeds'), '.3f')} / {num(i.get('spearman_between_seeds_min'), '.3f')}"
            ),
        ),
    ]
    view = Table(title="landscapes")
    view.add_column("")
    for _, info in infos:
        view.add_column(info["benchmark"], justify="right")
    for label, cell in rows:
        view.add_row(label, *(cell(m, info) for m, info in infos))
    return view


@app.command("proxies")
@user_errors
def proxies_cmd(
    benchmark: str = typer.Option(..., "--benchmark", "-b", help="A table benchmark or table file."),
    correlate: bool = typer.Option(
        False,
        "--correlate",
        help="Print the proxies' rank correlations with the "
        "seed-mean metric and the score (overall and per edge count) instead.",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Write the table with proxy columns here (default: replace the table file, rows unchanged)."
    ),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Local worker processes."),
    figure: Path | None = typer.Option(
        None, "--figure", help="With --correlate: also draw the correlations to this PNG."
    ),
    resamples: int = typer.Option(200, "--resamples", min=20, help="With --correlate: bootstrap resamples."),
    fmt: str = typer.Option("table", "--format", help="With --correlate: table, md, csv or json."),
    data_dir: Path | None = DataDirOpt,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Score every architecture of a table with the zero-cost proxies (resumable) and store them in it; or, with
    --correlate, how well each proxy ranks the table's architectures."""
    from nasbench_shrink.catalogue import get_benchmark

    bench = get_benchmark(benchmark)
    writable(out, "--out")
    writable(figure, "--figure")
    if correlate:
        _correlate(bench, figure, resamples, "json" if as_json else fmt)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

    from nasbench_shrink.runs.proxies import tabulate_proxies

    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=as_json,
    )
    with progress:
        task = progress.add_task(f"proxies of {bench.name}", total=None)
        summary = tabulate_proxies(
            bench,
            out,
            workers,
            str(data_dir) if data_dir else None,
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    if as_json:
        print_json(summary)
        return
    console.print(
        f"{summary['architectures']} architectures scored ({summary['scored_now']} now, "
        f"{summary['seconds']:.0f} s); wrote {summary['table']} with {len(summary['proxies'])} proxies",
        highlight=False,
    )


def _correlation_markdown(corr, names: list[str], seconds: dict[str, float]) -> str:
    """The proxies' correlations as markdown: overall (metric and score, top-k overlap, seconds), then within each
    edge-count stratum."""
    overall = corr[corr.stratum == "all"]
    lines = [
        "| proxy | ρ metric [95% CI] | τ metric [95% CI] | ρ score [95% CI] | top-1 % | top-5 % | median s/arch |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in names:
        m = overall[(overall.proxy == n) & (overall.target == "metric")].iloc[0]
        s = overall[(overall.proxy == n) & (overall.target == "score")].iloc[0]
        lines.append(
            f"| {n} | {m.spearman:.3f} [{m.spearman_lo:.3f}, {m.spearman_hi:.3f}] | {m.kendall:.3f} "
            f"[{m.kendall_lo:.3f}, {m.kendall_hi:.3f}] | {s.spearman:.3f} [{s.spearman_lo:.3f}, "
            f"{s.spearman_hi:.3f}] | {100 * m.top1pct:.0f} % | {100 * m.top5pct:.0f} % | "
            f"{seconds[n]:.3g} |"
        )
    strata = corr[(corr.stratum != "all") & (corr.target == "metric")]
    head = sorted(strata["stratum"].unique(), key=lambda c: int(c.split()[0]))
    lines += [
        "",
        "Spearman ρ with the seed-mean metric within each edge-count stratum [95 % CI]:",
        "",
        "| proxy | " + " | ".join(head) + " |",
        "|---|" + "---|" * len(head),
    ]
    for n in names:
        g = strata[strata.proxy == n].set_index("stratum")
        lines.append(
            f"| {n} | "
            + " | ".join(
                f"{g.at[h, 'spearman']:.2f} [{g.at[h, 'spearman_lo']:.2f}, {g.at[h, 'spearman_hi']:.2f}]" for h in head
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def _correlate(bench, figure: Path | None, resamples: int, fmt: str) -> None:
    import sys

    from nasbench_shrink.analysis.proxies import correlation_figure, correlation_table, proxy_frame
    from nasbench_shrink.tables.landscape import landscape_of

    if fmt not in ("table", "md", "csv", "json"):
        raise UserError(f"unknown --format {fmt!r}; choose one of table, md, csv, json")
    table = bench.table
    if table is None:
        raise UserError(f"{bench.name} is not a table; pass a table benchmark (e.g. -b digits-table)")
    if not table.meta.get("proxies"):
        raise UserError(f"table {bench.name} holds no proxies; add them with 'nasbench-shrink proxies -b {bench.name}'")
    frame = proxy_frame(table, landscape_of(table, bench), bench.kind.higher_is_better)
    names = table.meta["proxies"]["names"]
    corr = correlation_table(frame, names, resamples=resamples)
    path = figure
    if path is not None:
        correlation_figure(corr, path, f"Zero-cost proxies on {bench.name} ({len(frame)} architectures)")
    seconds = {n: float(frame[f"{n}_s"].median()) for n in names}
    if fmt in ("json", "csv"):
        if path is not None:
            err_console.print(f"wrote {path}", highlight=False)
        sys.stdout.write(corr.to_json(orient="records", indent=2) + "\n" if fmt == "json" else corr.to_csv(index=False))
        return
    text = _correlation_markdown(corr, names, seconds)
    if fmt == "md":
        if path is not None:
            err_console.print(f"wrote {path}", highlight=False)
        sys.stdout.write(text)
        return
    console.print(text, highlight=False, soft_wrap=True)
    if path is not None:
        console.print(f"wrote {path}", highlight=False)
