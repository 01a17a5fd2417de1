"""The comparison report: figures (seaborn) and report.md, computed only from trials.csv and summary.csv."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from nasbench_shrink.analysis import stats, style
from nasbench_shrink.analysis.fronts import LIVE_COLUMN, TRUTH_COLUMN
from nasbench_shrink.analysis.results import LABELS, SCALE, RunKind
from nasbench_shrink.benchmarks import Benchmark
from nasbench_shrink.budget import BUDGET_KINDS, cost_label, cumulative_column
from nasbench_shrink.errors import UserError
from search_spaces import Cell

# Paper Table 4 (CIFAR-10, full training): accuracy %, MACs (M). Random graphs: mean ± std over 10 runs, N = 15.
# ``row`` matches a strategy's registry trait ``paper_row``.
PAPER_TABLE4 = [
    {"topology": "Complete-DAG", "row": "Complete-DAG", "nodes": 8, "accuracy": "91.56", "macs_m": "105.61"},
    {"topology": "WS", "row": "WS", "nodes": 15, "accuracy": "90.5 ± 0.41", "macs_m": "16.04 ± 2.71"},
    {"topology": "ER", "row": "ER", "nodes": 15, "accuracy": "92.1 ± 0.38", "macs_m": "34.40 ± 16.43"},
    {"topology": "BA", "row": "BA", "nodes": 15, "accuracy": "90.0 ± 0.34", "macs_m": "32.61 ± 5.96"},
    {"topology": "ShrinkCNN", "row": "Shrink", "nodes": 8, "accuracy": "93.22", "macs_m": "38.20"},
]
RANDOM_GRAPH_ROWS = ("WS", "ER", "BA")


PAPER_TABLE5 = [
    {"topology": "Complete-DAG", "row": "Complete-DAG", "nodes": 6, "perplexity": "63.1", "params_m": "33"},
    {"topology": "ShrinkRNN", "row": "Shrink", "nodes": 6, "perplexity": "56.5", "params_m": "23"},
]


def _save(fig, ax, path: Path, legend_title: str) -> None:
    """Legend outside the data (wrapped into columns past a cap), PNG."""
    style.legend_outside(ax, legend_title)
    style.save(fig, path)


def load(out: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    try:
        trials = pd.read_csv(out / "trials.csv")
        summary = pd.read_csv(out / "summary.csv")
    except FileNotFoundError as exc:
        raise UserError(
            f"{out} has no {Path(exc.filename).name}; run 'nasbench-shrink compare --out {out}' first"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise UserError(f"a CSV in {out} is unreadable ({exc}); rerun the compare command to rewrite it") from None
    settings = {}
    if (out / "compare.json").is_file():
        settings = json.loads((out / "compare.json").read_text())
    return trials, summary, settings


def _fmt(mean: float, std: float, scale: float = 1.0, digits: int = 3) -> str:
    if pd.isna(mean):
        return "–"
    s = "–" if pd.isna(std) else f"{std / scale:.{digits}f}"
    return f"{mean / scale:.{digits}f} ± {s}"


def anytime_y(trials: pd.DataFrame, x_col: str = "") -> tuple[str, bool, str]:
    """(column, maximize, label) of the anytime curves: with two objectives the believed front's hypervolume
    regret on a table (its hypervolume live); else simple regret on a table (against a simulated clock: as known
    at each end time), else the best score."""
    if TRUTH_COLUMN in trials.columns:
        return TRUTH_COLUMN, False, "HV regret of the believed front (symlog)"
    if LIVE_COLUMN in trials.columns:
        return LIVE_COLUMN, True, "hypervolume of the observed front (normalised axes)"
    if x_col == "clock_end" and "regret_by_clock" in trials.columns:
        return "regret_by_clock", False, "true regret of the incumbent, as it stands (symlog)"
    if "regret" in trials.columns and trials["regret"].notna().any():
        return "regret", False, "true regret of the incumbent, as it stands (symlog)"
    return "score", True, "best proxy score so far"


def _curve_inputs(trials: pd.DataFrame, x_col: str = ""):
    """Trials within the budget, the curve's column and direction and label, one colour per strategy."""
    t = trials[trials["within_budget"]]
    y, maximize, label = anytime_y(t, x_col)
    return t.dropna(subset=[y]), y, maximize, label, style.palette(t["strategy"])


def _best_so_far(y: str) -> bool:
    """Whether the curve of column ``y`` is the best value so far. Only the observed score is: every column that
    states what a run believes at that point (its incumbent's true regret, its believed front's measure) is read
    as it stands, since a noisy lucky evaluation can make a search switch to a worse cell, and that counts against
    it; so the curve ends at the final table's value (a test pins it)."""
    return y == "score"


def _budget_marks(ax, trials: pd.DataFrame, kind: str, axis: str) -> None:
    """The budget on the cost axis: a dashed line at the largest run budget, the range of paired per-seed budgets
    shaded, and the axis ending there (no run may spend past its budget)."""
    if axis != kind or "budget" not in trials or not trials["budget"].notna().any():
        return
    b = trials.groupby("seed")["budget"].first().to_numpy(dtype=float)
    lo, hi = float(np.nanmin(b)), float(np.nanmax(b))
    if hi > lo:
        ax.axvspan(lo, hi, color="0.5", alpha=0.08, lw=0, label="per-seed budgets (paired)")
    ax.axvline(hi, color="0.25", ls="--", lw=1.2, label="budget" if hi == lo else "largest budget")
    ax.set_xlim(right=hi * 1.01)


def anytime_figure(trials: pd.DataFrame, kind: str, path: Path, budget_kind: str | None = None) -> None:
    """IQM over seeds of each strategy's best-so-far on one grid, with a bootstrap 95 % band; the budget marked."""
    t, y, maximize, ylabel, palette = _curve_inputs(trials, cumulative_column(kind))
    curves = stats.anytime(t, cumulative_column(kind), y, maximize, best_so_far=_best_so_far(y))
    fig, ax = style.figure(width=style.width_for(t["strategy"].nunique() + 2))
    for strategy, g in curves.groupby("strategy", sort=False):
        ax.step(g["x"], g["iqm"], where="post", color=palette[strategy], label=strategy, lw=1.6)
        ax.fill_between(g["x"], g["lo"], g["hi"], step="post", color=palette[strategy], alpha=0.15, lw=0)
    if not maximize:
        style.regret_axis(ax, np.concatenate([curves["lo"], curves["hi"], curves["iqm"]]))
    _budget_marks(ax, trials, budget_kind or kind, kind)
    ax.set_xlim(left=0)
    ax.set_xlabel(cost_label(kind))
    style.engineering_x(ax)
    ax.set_ylabel(ylabel)
    seeds = t["seed"].nunique()
    ax.set_title(f"Anytime performance: IQM over {seeds} seeds, bootstrap 95% band")
    _save(fig, ax, path, "strategy")


def rank_figure(trials: pd.DataFrame, kind: str, path: Path, budget_kind: str | None = None) -> None:
    """Each strategy's rank among the strategies per seed, averaged over seeds, against charged cost."""
    t, y, maximize, _, palette = _curve_inputs(trials, cumulative_column(kind))
    ranks = stats.mean_rank(t, cumulative_column(kind), y, maximize, best_so_far=_best_so_far(y))
    fig, ax = style.figure(width=style.width_for(t["strategy"].nunique() + 2))
    for strategy, g in ranks.groupby("strategy", sort=False):
        ax.step(g["x"], g["mean_rank"], where="post", label=strategy, color=palette[strategy])
    ax.set_xlabel(cost_label(kind))
    style.engineering_x(ax)
    ax.set_ylabel("mean rank over seeds (1 = best)")
    _budget_marks(ax, trials, budget_kind or kind, kind)
    ax.set_xlim(left=0)
    ax.invert_yaxis()
    ax.set_title(f"Mean rank over {t['seed'].nunique()} seeds")
    _save(fig, ax, path, "strategy")


def _runs_scatter(ax, runs: pd.DataFrame, few: float = 80.0, alpha: float = 1.0) -> None:
    """One marker per run at (x, y), coloured and shaped by strategy; smaller and see-through for many runs."""
    import seaborn as sns

    size, see_through = style.marker_size(len(runs), few=few)
    sns.scatterplot(
        runs,
        x="x",
        y="y",
        hue="strategy",
        style="strategy",
        s=size,
        alpha=min(alpha, see_through),
        ax=ax,
        palette=style.palette(runs["strategy"]),
    )


def pareto_figure(summary: pd.DataFrame, path: Path, m: str) -> None:

    fig, ax = style.figure()
    final = f"final_test_{m}" in summary.columns
    if m == "accuracy":
        x = summary["final_macs" if final else "best_macs"] / 1e6
        y = 100 * summary[f"final_test_{m}" if final else f"best_{m}"]
        xlabel, ylabel = "MACs per image (M, log scale)", "accuracy (%)"
    else:
        x = summary["final_params" if final else "best_params"] / 1e6
        y = summary[f"final_test_{m}" if final else f"best_{m}"]
        xlabel, ylabel = "parameters (M, log scale)", "perplexity (lower is better)"
    _runs_scatter(ax, summary.assign(x=x, y=y))
    style.log_x(ax)
    ax.set_xlabel(("final network " if final else "search network ") + xlabel)
    ax.set_ylabel(("final test " if final else "best proxy ") + ylabel)
    ax.set_title("Performance vs cost, one marker per run")
    _save(fig, ax, path, "strategy")


def table_pareto_figure(summary: pd.DataFrame, land, path: Path) -> None:
    """On a table: every architecture, the exact accuracy-vs-MACs front, and each run's best cell over them."""

    fig, ax = style.figure()
    ax.scatter(
        [land.macs[k] for k in land.keys],
        [100 * land.mean_perf[k] for k in land.keys],
        s=5,
        color="0.75",
        label="all architectures",
    )
    front = land.pareto_front(True)
    ax.plot(
        [land.macs[k] for k in front],
        [100 * land.mean_perf[k] for k in front],
        color="k",
        lw=1.2,
        drawstyle="steps-post",
        label="Pareto front",
    )
    d = summary.assign(
        x=[land.macs.get(k, np.nan) for k in summary["best_arch_key"]],
        y=[100 * land.mean_perf.get(k, np.nan) for k in summary["best_arch_key"]],
    )
    _runs_scatter(ax, d, few=70.0, alpha=0.8)
    style.log_x(ax, engineering=True)
    ax.set_xlabel("search-network MACs per image (log scale)")
    ax.set_ylabel("mean proxy validation accuracy (%)")
    ax.set_title("Found cells over the whole space (one marker per run)")
    _save(fig, ax, path, "strategy")


def shrinking_strategy(trials: pd.DataFrame, prefer: str | None = None) -> str | None:
    """The strategy whose shrinking runs the shrink figure draws: ``prefer`` (the run's reference) if it shrinks,
    else the first that does (trials of a shrinking trajectory carry their step)."""
    shrinking = list(dict.fromkeys(trials.loc[trials["step"].notna(), "strategy"]))
    return prefer if prefer in shrinking else (shrinking[0] if shrinking else None)


def shrink_steps(trials: pd.DataFrame, strategy: str | None = None) -> pd.DataFrame:
    """Per (seed, step) of one strategy's shrinking runs (``shrinking_strategy``): the best candidate score and the
    active edges of the chosen cell (the step's first best-scoring candidate, as AutoShrink keeps it)."""
    name = shrinking_strategy(trials, strategy)
    # a candidate halved out of its step has no score
    t = trials[(trials["strategy"] == name) & trials["step"].notna() & trials["score"].notna()]
    if t.empty:
        return pd.DataFrame(columns=["seed", "step", "best_score", "edges"])
    chosen = t.loc[t.groupby(["seed", "step"], sort=True)["score"].idxmax()]
    return chosen[["seed", "step", "score", "edges"]].rename(columns={"score": "best_score"}).reset_index(drop=True)


def shrink_figure(trials: pd.DataFrame, path: Path, strategy: str | None = None) -> bool:
    """Best score (left) and the chosen cell's active edges (right) per shrink step of one strategy's runs
    (``shrinking_strategy``): one light line per seed, the median over seeds in bold."""
    name = shrinking_strategy(trials, strategy)
    steps = shrink_steps(trials, name)
    if steps.empty:
        return False
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    fig, (a, b) = style.figure(10.5, 4.0, 1, 2)
    for ax, col, label, colour in (
        (a, "best_score", "best candidate score in the step", "C0"),
        (b, "edges", "active edges of the chosen cell", "C1"),
    ):
        runs = [g[["step", col]].to_numpy(float) for _, g in steps.groupby("seed", sort=False)]
        ax.add_collection(LineCollection(runs, colors=colour, alpha=max(0.08, min(0.6, 4.0 / len(runs))), lw=1))
        med = steps.groupby("step")[col].median()
        ax.plot(med.index, med.to_numpy(), color=colour, lw=2.5, marker="o", ms=4)
        ax.autoscale()
        ax.set_xlabel("shrink step")
        ax.set_ylabel(label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    b.yaxis.set_major_locator(MaxNLocator(integer=True))
    b.legend(
        [Line2D([], [], color="0.4", alpha=0.5), Line2D([], [], color="0.2", lw=2.5)],
        [f"one seed ({steps['seed'].nunique()} in all)", "median over the seeds still shrinking"],
        loc="upper right",
    )
    fig.suptitle(f"{name}: per step, the best candidate and the cell it keeps")
    style.save(fig, path)
    return True


def _cells_caption(land) -> str:
    """The rule the cells figure picks each strategy's cell by."""
    if land is not None:
        return (
            "Best cell of each strategy: of its runs' final incumbents, the one of highest true (seed-mean) "
            f"score on {land.source}, labelled with that score and its regret against {land.reference}; bold "
            "outline: cell outputs."
        )
    return (
        "Best cell of each strategy: the final incumbent of highest observed proxy score over its runs "
        "(one seed each, so a lucky draw can lead); bold outline: cell outputs."
    )


def cells_figure(summary: pd.DataFrame, path: Path, land=None) -> str:
    """The best cell of each strategy, drawn at one scale in every panel; returns the rule as a caption.

    On a table (``land``) each strategy's cell is the best by *true* (seed-mean) score among its runs' final
    incumbents, labelled with its true score and regret: picking by the observed single-seed score would show
    each strategy's luckiest draw (the winner's curse). Live, only observed scores exist, and the caption says so.
    """
    from nasbench_shrink.analysis.draw import draw_cell, op_legend

    s = summary.copy()
    caption = _cells_caption(land)
    if land is not None:
        s["true_score"] = [land.true_score.get(k, np.nan) for k in s["best_arch_key"]]
        s["_rank"] = s["true_score"].fillna(-np.inf)
    else:
        s["_rank"] = s["best_score"]
    best = s.loc[s.groupby("strategy", sort=False)["_rank"].idxmax()]
    n = len(best)
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig, axes = style.figure(5.2 * cols, 3.4 * rows + 0.5, rows, cols, squeeze=False)
    ops = set()
    for ax, (_, r) in zip(axes.flat, best.iterrows()):
        cell = Cell.from_json(r["best_cell"])
        ops |= set(cell.ops[1:])
        value = (
            f"true score {r['true_score']:.3f}, regret {land.best_score - r['true_score']:.4f}"
            if land is not None
            else f"observed score {r['best_score']:.3f}"
        )
        draw_cell(cell, ax, title=f"{r['strategy']} (seed {r['seed']}): {value}, {len(cell.active_edges)} edges")
    drawn = list(axes.flat)[:n]
    width = max(np.ptp(ax.get_xlim()) for ax in drawn)
    height = max(np.ptp(ax.get_ylim()) for ax in drawn)
    for ax in drawn:  # one scale: a node is as large in every panel
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        ax.set_xlim((x0 + x1 - width) / 2, (x0 + x1 + width) / 2)
        ax.set_ylim((y0 + y1 - height) / 2, (y0 + y1 + height) / 2)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    op_legend(fig, ops)
    style.save(fig, path, dpi=110)
    return caption


_COST_COLUMN = {"flops": "search_flops", "seconds": "search_cost_s", "evals": "evaluations", "wallclock": "makespan_s"}


def comparison(summary: pd.DataFrame, kind: str, run: RunKind) -> tuple[pd.DataFrame, dict[str, bool], str, str | None]:
    """The final table: (table, columns → higher is better, tested column, reference strategy).

    The tested column is the search's own end point — simple regret on a table, else the best proxy score; with
    two objectives the believed front's hypervolume regret on a table, else its hypervolume — and the reference
    is the run's recorded reference (the strategy that declares itself the reference of that kind of comparison:
    AutoShrink; its λ sweep)."""
    m, higher, reference = run.metric, run.higher_is_better, run.reference
    if run.multi:
        target, up = ("final_hv_regret", False) if "final_hv_regret" in summary.columns else ("final_hv", True)
        columns = {target: up}
        if "final_igd_plus" in summary.columns:
            columns["final_igd_plus"] = False
        columns["front_size"] = True
        columns[_COST_COLUMN.get(kind, "search_flops")] = False
        return stats.final_table(summary, columns, reference, target), columns, target, reference
    target = "final_regret" if "final_regret" in summary.columns else "best_score"
    columns = {target: target == "best_score"}
    if f"final_test_{m}" in summary.columns:
        columns[f"final_test_{m}"] = higher
    columns["final_macs" if "final_macs" in summary.columns else "best_macs"] = False
    columns[_COST_COLUMN.get(kind, "search_flops")] = False
    return stats.final_table(summary, columns, reference, target), columns, target, reference


def _value(row, col: str, ci: bool = True) -> str:
    v = row.get(col)
    if v is None or pd.isna(v):
        return "–"
    k = SCALE.get(col, 1.0)
    fmt = (lambda x: f"{x * k:.3g}") if col in ("search_flops",) else (lambda x: f"{x * k:.4g}")
    return f"{fmt(v)} [{fmt(row[col + '_lo'])}, {fmt(row[col + '_hi'])}]" if ci else fmt(v)


def p_text(p: float, equals: str = "") -> str:
    """A p-value as printed: three significant digits (after ``equals``), and "< 1e-12" below what Holm's
    rounding keeps."""
    return "< 1e-12" if p < 1e-12 else f"{equals}{p:.3g}"


def _versus(row, reference: str | None) -> str:
    if row["verdict"] == "reference" or reference is None or pd.isna(row["p_holm"]):
        return "reference" if row["verdict"] == "reference" else "–"
    return f"{row['verdict']} (p {p_text(row['p_holm'])}, A12 {row['a12']:.2f})"


def comparison_sentences(table: pd.DataFrame, target: str, reference: str | None, seeds: int) -> list[str]:
    """The report's claims about the strategies, each computed from the final table."""
    if reference is None:
        return ["No strategy reproduces the paper's searched row here, so there is no reference to test against."]
    what = LABELS.get(target, target)
    ref = table[table.strategy == reference].iloc[0]
    out = []
    for verdict in ("better", "worse"):
        for _, r in table[table.verdict == verdict].iterrows():
            out.append(
                f"{r['strategy']} is {verdict} than {reference} on {what}: IQM {r[target]:.4g} against "
                f"{ref[target]:.4g} (paired Wilcoxon over {seeds} seeds, Holm-corrected p "
                f"{p_text(r['p_holm'], '= ')}; A12 = {r['a12']:.2f}, the chance that it does better on a seed)."
            )
    ns = table[table.verdict == "not significant"]
    if len(ns):
        out.append(
            f"Not significantly different from {reference} on {what} at the 5 % level after Holm's "
            f"correction: {', '.join(ns['strategy'])} (smallest corrected p = {ns['p_holm'].min():.3g})."
        )
        out.append(equivalence_sentence(ns, reference))
    if not out:
        out.append(f"Only {reference} was run, so there is nothing to test.")
    return out


NEGLIGIBLE_A12 = 0.06  # |A12 - 0.5| below this is a negligible effect (Vargha & Delaney 2000: 0.56 is "small")


def equivalence_sentence(ns: pd.DataFrame, reference: str) -> str:
    """What each 'not significant' still allows: the A12 interval, and equivalence where it lies within the
    negligible band."""
    if "a12_lo" not in ns or ns["a12_lo"].isna().all():
        return ""
    parts, equivalent = [], []
    for _, r in ns.iterrows():
        parts.append(f"{r['strategy']} {r['a12']:.2f} [{r['a12_lo']:.2f}, {r['a12_hi']:.2f}]")
        if 0.5 - NEGLIGIBLE_A12 < r["a12_lo"] and r["a12_hi"] < 0.5 + NEGLIGIBLE_A12:
            equivalent.append(r["strategy"])
    text = (
        f"What these runs still allow, A12 against {reference} with its bootstrap 95 % interval over seeds: "
        + "; ".join(parts)
        + "."
    )
    if equivalent:
        text += (
            f" Equivalent to {reference} within a negligible effect (the whole interval inside "
            f"{0.5 - NEGLIGIBLE_A12:.2f}–{0.5 + NEGLIGIBLE_A12:.2f}): {', '.join(equivalent)}."
        )
    else:
        text += " No interval lies inside the negligible band, so none of them is shown equivalent either."
    return text


def _cell_figures(out: Path, trials: pd.DataFrame, summary: pd.DataFrame, land, run: RunKind) -> None:
    """pareto.png (against the table's true front where there is one), shrink.png and cells.png."""
    if land is not None and land.enumerated:
        table_pareto_figure(summary, land, out / "pareto.png")
    else:
        pareto_figure(summary, out / "pareto.png", run.metric)
    shrink_figure(trials, out / "shrink.png", run.reference)
    cells_figure(summary, out / "cells.png", land)


def write_report(out: Path, bench: Benchmark | None = None, x_axis: str | None = None) -> Path:
    """Regenerate figures and report.md in ``out`` from its CSVs; ``bench`` is the comparison's benchmark (``None``
    when it can no longer be had, e.g. a plug-in since uninstalled: no exact regret figure, no paper setting);
    ``x_axis`` (``evals``, ``flops`` or ``seconds``) is the cost axis of the anytime and rank figures (default:
    the budget's kind)."""
    out = Path(out)
    trials, summary, settings = load(out)
    run = RunKind.from_settings(settings, str(out))
    cfg = settings.get("settings", {})
    kind = cfg.get("budget_kind", "flops")
    axis = x_axis or kind
    if axis not in BUDGET_KINDS or (axis == "wallclock" and "clock_end" not in trials.columns):
        raise UserError(
            f"unknown cost axis {axis!r} for this comparison; choose one of evals, flops, seconds "
            "(and wallclock for a run on a simulated clock)"
        )

    def curves() -> None:  # drawn in a second process while this one writes the rest
        anytime_figure(trials, axis, out / "anytime.png", kind)
        rank_figure(trials, axis, out / "rank.png", kind)

    drawn = style.drawn_aside(curves)
    if run.multi:
        path = _write_front_report(out, bench, trials, summary, settings, run)
        drawn()
        return path
    # a surrogate is shown the runs' best cells only: they are all this report asks it about (showing it every
    # evaluated cell cost a prediction per distinct cell: 9 minutes at 602 seeds)
    returned = summary.dropna(subset=["best_cell"])
    land = table_landscape(bench, pd.DataFrame({"arch_key": returned["best_arch_key"], "cell": returned["best_cell"]}))
    # drawn in a third process: the figures are independent files
    drawn_cells = style.drawn_aside(lambda: _cell_figures(out, trials, summary, land, run))
    has_shrink = not shrink_steps(trials, run.reference).empty
    cells_caption = _cells_caption(land)
    seeds = cfg.get("seeds", [])
    lines = [f"# Comparison on `{cfg.get('benchmark', '?')}`", ""] + _settings_lines(cfg, settings, out, kind)
    table, columns, target, reference = comparison(summary, kind, run)
    lines += _final_table_lines(table, columns, target, reference, len(seeds))
    lines += pruning_lines(summary)
    lines += fairness_lines(trials, summary, kind, target, len(seeds))
    lines += ["## Figures", "", "![anytime](anytime.png)", "", "![rank](rank.png)", "", "![pareto](pareto.png)", ""]
    if has_shrink:
        lines += ["![shrink](shrink.png)", ""]
    lines += [cells_caption, "", "![cells](cells.png)", ""]
    m = run.metric
    has_final = f"final_test_{m}" in summary.columns
    pcol = f"final_test_{m}" if has_final else f"best_{m}"
    by_row = run.paper_rows
    lines += _paper_table(
        m, {row: (s, summary[summary["strategy"] == s]) for row, s in by_row.items()}, pcol, has_final
    )
    lines += [
        "",
        _paper_sentence(
            cfg.get("benchmark", ""), bench is not None and bench.paper_setting, summary, has_final, m, by_row
        ),
        "",
    ]
    path = out / "report.md"
    drawn()
    drawn_cells()
    path.write_text("\n".join(lines))
    return path


def _final_table_lines(
    table: pd.DataFrame, columns: dict[str, bool], target: str, reference: str | None, seeds: int
) -> list[str]:
    """The report's final table (markdown) and the sentences computed from it."""
    lines = [
        "## Final table",
        "",
        "Each cell: interquartile mean over seeds [bootstrap 95 % interval]. The last column tests the "
        f"strategy against {reference or 'the reference'} on {LABELS.get(target, target)}: paired "
        "Wilcoxon signed-rank over the same seeds, Holm-corrected across strategies, with the Vargha–Delaney "
        "A12 effect size (> 0.5: the strategy tends to do better).",
        "",
    ]
    head = ["strategy"] + [LABELS.get(c, c) for c in columns] + [f"vs {reference or '–'}"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        lines.append("| " + " | ".join([r["strategy"], *(_value(r, c) for c in columns), _versus(r, reference)]) + " |")
    lines += [""] + comparison_sentences(table, target, reference, seeds) + [""]
    return lines + [
        "Every number above is computed from `summary.csv` (one row per run), which is computed "
        "from `trials.csv` (trials within the budget).",
        "",
    ]


def pruning_lines(summary: pd.DataFrame) -> list[str]:
    """What the pruner did: per strategy, the median share of a run's evaluations it stopped early."""
    if "pruned" not in summary.columns:
        return []
    share = (summary["pruned"] / summary["evaluations"].clip(lower=1)).groupby(summary["strategy"], sort=False).median()
    evals = summary.groupby("strategy", sort=False)["evaluations"].median()
    parts = [f"{s} {100 * v:.0f} % of {evals[s]:.0f}" for s, v in share.items()]
    return [
        "Pruning: median share of a run's evaluations stopped early, of its median evaluations: "
        + "; ".join(parts)
        + ". A stopped evaluation pays for the epochs it trained, so a pruned run evaluates more architectures "
        "for the same budget.",
        "",
    ]


def _settings_lines(cfg: dict, settings: dict, out: Path, kind: str) -> list[str]:
    seeds = cfg.get("seeds", [])
    return [
        "## Settings",
        "",
        f"- strategies: {', '.join(cfg.get('strategies', []))}",
        f"- objectives: {cfg.get('objectives', 'score')}",
        f"- seeds: {_seed_list(seeds)} ({len(seeds)}, paired across strategies)",
        _budget_line(settings.get("resolved_budget"), kind),
        f"- final evaluation: {'yes' if cfg.get('final') else 'no'}",
        *(
            [
                f"- pruner: {cfg['pruner']} (Optuna's), on each table row's per-epoch curve; a pruned evaluation is "
                "charged the epochs it trained and is never an incumbent; AutoShrink's runs are not pruned"
            ]
            if cfg.get("pruner")
            else []
        ),
        f"- storage: `{settings.get('storage')}` (open with `optuna-dashboard` or `nasbench-shrink dashboard {out}`)",
        _wall_line(settings),
        "",
    ]


def _front_truth_lines(land, m: str, cost: str) -> list[str]:
    """What a two-objective run is measured against: a table's true front, a surrogate's best known one, or (live)
    the hypervolume in axes shared by every strategy."""
    if land is None:
        return [
            "## Measure",
            "",
            "A live benchmark has no ground truth: each run's observed front is measured by "
            "its hypervolume in axes normalised over every evaluation of this comparison (best 0, worst 1, "
            "reference point (1.1, 1.1)), the same axes for every strategy.",
            "",
        ]
    front = land.fronts[cost]
    whose = (
        f"The table's true front of (seed-mean validation {m}, {cost}) has {len(front['keys'])} "
        f"of {len(land.keys)} architectures"
        if land.enumerated
        else f"The surrogate's best known front of (predicted seed-mean validation {m}, {cost}) has "
        f"{len(front['keys'])} architectures, of the {front.get('cells', '?')} cells its best-known search "
        "scored (not the true front: the space is not enumerated)"
    )
    return [
        "## Ground truth",
        "",
        f"{whose}; its hypervolume is {front['hypervolume']:.4f} in the table's "
        f"normalised axes (best {m} and smallest {cost} 0, worst 1; reference point "
        f"{tuple(front['reference'])}). A run's front is the set of its evaluations that no other of its "
        "evaluations dominates in the values it observed; it is measured at its architectures' seed-mean "
        "values: HV regret = the true front's hypervolume minus its own (0: it covers the true front); "
        "IGD+ = the mean distance from the true front's points to it, counting only where it is worse.",
        "",
    ]


def _write_front_report(
    out: Path, bench: Benchmark | None, trials: pd.DataFrame, summary: pd.DataFrame, settings: dict, run: RunKind
) -> Path:
    """report.md of a two-objective comparison: the true front (table), the final table on the believed
    fronts' hypervolume regret (or hypervolume), the tests against the reference, and the fronts figure."""
    from nasbench_shrink.analysis.fronts import fronts_figure

    cfg = settings.get("settings", {})
    kind = cfg.get("budget_kind", "flops")
    seeds = cfg.get("seeds", [])
    m, cost = run.metric, run.cost
    land = table_landscape(bench, trials)
    caption = fronts_figure(trials, summary, m, cost, run.higher_is_better, out / "pareto.png", land)
    lines = [f"# Comparison on `{cfg.get('benchmark', '?')}`: {m} against {cost}", ""]
    lines += _settings_lines(cfg, settings, out, kind)
    lines += _front_truth_lines(land, m, cost)
    table, columns, target, reference = comparison(summary, kind, run)
    lines += _final_table_lines(table, columns, target, reference, len(seeds))
    if "true_front_found" in summary.columns:
        shares = summary.groupby("strategy", sort=False)["true_front_found"].median()
        best = [s for s, v in shares.items() if v == shares.max()]
        lines += [
            f"Median share of the true front's {len(land.fronts[cost]['keys'])} architectures in a "
            "run's front: "
            + ", ".join(f"{s} {100 * v:.0f} %" for s, v in shares.items())
            + f" (highest: {', '.join(best)}).",
            "",
        ]
    # (reaching a top-1 % cell is a question about the score: not asked of a front)
    lines += fairness_lines(
        trials, summary.drop(columns=["evals_to_top1pct"], errors="ignore"), kind, target, len(seeds)
    )
    lines += [
        "## Figures",
        "",
        "![anytime](anytime.png)",
        "",
        "![rank](rank.png)",
        "",
        "![pareto](pareto.png)",
        "",
        caption,
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


def _wall_line(settings: dict) -> str:
    """The comparison's wall time: summed over every invocation (a resumed or interrupted one included)."""
    total, runs = settings.get("wall_s_total", settings.get("wall_s")), int(settings.get("invocations", 1))
    if total is None:
        return "- wall time: unknown"
    if runs <= 1:
        return f"- wall time: {total} s"
    return f"- wall time: {total} s over {runs} invocations (the last: {settings.get('wall_s', '?')} s)"


def _seed_list(seeds: list[int]) -> str:
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(str(s) for s in seeds)


def _budget_line(budget, kind: str) -> str:
    if budget is None:
        return "- budget: none"
    if isinstance(budget, dict):
        v = np.array(list(budget.values()), dtype=float)
        return (
            f"- budget: paired — the run of every strategy at seed s gets what the budget-setting strategy "
            f"spent at seed s (charged {kind}: mean {v.mean():.4g}, range {v.min():.4g}–{v.max():.4g})"
        )
    return f"- budget: {budget:.4g} charged {kind} per run (fixed)"


def shared_prefixes(trials: pd.DataFrame, min_length: int = 2) -> list[tuple[str, str, int]]:
    """Pairs of strategies whose runs propose the same first architectures at every seed, with the length of
    the shortest such common prefix (found in the data: a shared seeded start, such as the complete DAG or a
    random start-up)."""
    seqs = {k: list(g["arch_key"]) for k, g in trials.sort_values("trial").groupby(["strategy", "seed"], sort=False)}
    names = list(dict.fromkeys(trials["strategy"]))
    seeds = sorted(set(trials["seed"]))
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            shortest = None
            for seed in seeds:
                x, y = seqs.get((a, seed), []), seqs.get((b, seed), [])
                n = 0
                while n < min(len(x), len(y)) and x[n] == y[n]:
                    n += 1
                shortest = n if shortest is None else min(shortest, n)
            if shortest is not None and shortest >= min_length:
                out.append((a, b, shortest))
    return out


def fairness_table(summary: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Per strategy: the mean charged cost against the mean budget, the free repeats and, on a table, the
    charged evaluations until a top-1 % architecture (median over seeds; runs that never reach one count as
    not reached) and the share of runs that reach one within their budget."""
    col = _COST_COLUMN.get(kind, "search_flops")
    rows = []
    for s, g in summary.groupby("strategy", sort=False):
        row = {
            "strategy": s,
            "charged": g[col].mean(),
            "budget": g["budget"].mean() if "budget" in g else np.nan,
            "repeats": g["repeats"].mean() if "repeats" in g else np.nan,
        }
        if "evals_to_top1pct" in g:
            hits = g["evals_to_top1pct"].to_numpy(dtype=float)
            reached = np.isfinite(hits)
            row["reached_top1pct"] = reached.mean()
            row["median_evals_to_top1pct"] = float(np.median(np.where(reached, hits, np.inf)))
        rows.append(row)
    return pd.DataFrame(rows)


def fairness_lines(trials: pd.DataFrame, summary: pd.DataFrame, kind: str, target: str, seeds: int) -> list[str]:
    """The report's account of equal cost, repeats, reaching the top 1 % and the power of its tests."""
    table = fairness_table(summary, kind)
    has_top = "median_evals_to_top1pct" in table
    head = ["strategy", f"mean charged {kind}", "mean budget", "charged / budget", "free repeats / run"]
    head += ["median evals to top 1 %", "runs reaching top 1 %"] if has_top else []
    out = [
        "## Equal cost and power",
        "",
        "A run pays for each architecture the first time it evaluates it; a repeat returns the same record for "
        "free; a trial counts only if the run's total including it stays within the budget.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for _, r in table.iterrows():
        cells = [
            r["strategy"],
            f"{r['charged']:.4g}",
            f"{r['budget']:.4g}" if pd.notna(r["budget"]) else "–",
            f"{r['charged'] / r['budget']:.3f}" if pd.notna(r["budget"]) and r["budget"] else "–",
            f"{r['repeats']:.1f}" if pd.notna(r["repeats"]) else "–",
        ]
        if has_top:
            med = r["median_evals_to_top1pct"]
            cells += ["not reached" if not np.isfinite(med) else f"{med:g}", f"{100 * r['reached_top1pct']:.0f} %"]
        out.append("| " + " | ".join(cells) + " |")
    values = summary[target].to_numpy(dtype=float) if target in summary else np.array([])
    m = max(1, summary["strategy"].nunique() - 1)
    one, holm_first = stats.detectable_a12(values, seeds), stats.detectable_a12(values, seeds, alpha=0.05 / m)
    how = (
        f"simulated from this comparison's {LABELS.get(target, target)} values (Gaussian-copula shifts of "
        "their empirical distribution, independent pairs)"
    )
    if np.isfinite(one):
        out += [
            "",
            f"Power: with {seeds} paired seeds, the smallest A12 the paired Wilcoxon test detects with 80 % "
            f"power is {_a12(one)} at α = 0.05 and {_a12(holm_first)} at α = 0.05/{m} (Holm's strictest "
            f"step), {how}. A smaller true difference is likely to come out 'not significant'.",
        ]
    else:
        out += [
            "",
            f"Power: with {seeds} paired seeds no difference, however large, reaches 80 % power in the "
            f"paired Wilcoxon test at α = 0.05 ({how}): every 'not significant' above says nothing.",
        ]
    shared = shared_prefixes(trials)
    if shared:
        pairs = "; ".join(f"{a} and {b}: the first {n}" for a, b, n in shared)
        out += [
            "",
            f"Some strategies propose the same first architectures at every seed ({pairs}), because they "
            "start alike (the same seeded complete DAG, or the same seeded random start-up). Their runs are "
            "correlated over those trials: harmless for pairing, but not independent evidence.",
        ]
    return out + [""]


def _a12(v: float) -> str:
    return "–" if not np.isfinite(v) else f"{v:.2f}"


def table_landscape(bench: Benchmark | None, trials: pd.DataFrame | None = None):
    """What ``bench`` knows of true scores (``Evaluator.landscape``), or None for a live benchmark; shown the
    cells of ``trials`` (a surrogate knows only the cells it is shown; a table knows them all)."""
    if bench is None or bench.evaluator is None:
        return None
    land = bench.evaluator.landscape(bench)
    if land is not None and trials is not None and not land.enumerated and "cell" in trials:
        from search_spaces import Cell

        land.include(Cell.from_json(c) for c in trials.drop_duplicates("arch_key")["cell"])
    return land


def _paper_table(metric: str, ours: dict, pcol: str, has_final: bool) -> list[str]:
    """The paper's Table 4 (images) or Table 5 (language models) beside our final numbers: IQM over seeds with a
    bootstrap 95 % interval, as every other table of the report (the paper's own rows are as it prints them)."""
    if metric == "accuracy":
        title, rows, perf, cost = (
            "Table 4",
            PAPER_TABLE4,
            ("accuracy", "acc. (%)", 0.01),
            ("macs_m", "MACs (M)", "final_macs", 1e6),
        )
    else:
        title, rows, perf, cost = (
            "Table 5",
            PAPER_TABLE5,
            ("perplexity", "test ppl", 1.0),
            ("params_m", "params (M)", "final_params", 1e6),
        )
    lines = [
        f"## The paper's {title}, for reference",
        "",
        f"| topology | nodes | paper {perf[1]} | paper {cost[1]} | ours: strategy | ours: final {perf[1]} "
        f"IQM [95% CI] | ours: final {cost[1]} IQM [95% CI] |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in rows:
        strategy, r = ours.get(p["row"], (None, None))
        ok = r is not None and has_final
        a = _iqm_ci(r[pcol], perf[2], 2) if ok else "–"
        c = _iqm_ci(r[cost[2]], cost[3], 3) if ok and cost[2] in r else "–"
        lines.append(
            f"| {p['topology']} | {p['nodes']} | {p[perf[0]]} | {p[cost[0]]} | {strategy or '–'} | {a} | {c} |"
        )
    return lines


def _iqm_ci(values: pd.Series, scale: float, digits: int) -> str:
    v = values.dropna().to_numpy(dtype=float)
    if not len(v):
        return "–"
    lo, hi = stats.bootstrap_ci(v, resamples=1000)
    return f"{stats.iqm(v) / scale:.{digits}f} [{lo / scale:.{digits}f}, {hi / scale:.{digits}f}]"


def _paper_sentence(
    benchmark: str,
    paper_setting: bool,
    summary: pd.DataFrame,
    has_final: bool,
    metric: str,
    paper_rows: dict[str, str],
) -> str:
    if not has_final:
        return "No final evaluation was run, so nothing here is comparable with the paper's full-training numbers."
    col = f"final_test_{metric}"
    means = summary.groupby("strategy")[[col, "final_macs", "final_params"]].mean()
    better = (lambda a, b: a >= b) if metric == "accuracy" else (lambda a, b: a <= b)
    parts = []
    if metric == "accuracy" and not paper_setting:
        parts.append(
            f"The paper trains on full CIFAR-10; this run uses `{benchmark}`, so absolute accuracies and "
            "MACs do not compare, only orderings can."
        )
    if metric == "perplexity":
        parts.append(
            "The paper's Table 5 trains 23-33 M-parameter models on full PTB; this run's final networks are "
            "far smaller and trained briefly, so only orderings compare."
        )
    row = {r: s for r, s in paper_rows.items() if s in means.index}
    shrink = row.get("Shrink")
    if shrink is not None and "Complete-DAG" in row:
        a, c = means.loc[shrink], means.loc[row["Complete-DAG"]]
        if metric == "accuracy":
            parts.append(
                f"The paper's ShrinkCNN beats its complete DAG on accuracy (+1.66 points) with 2.8x fewer MACs; here "
                f"AutoShrink's final accuracy is {100 * (a[col] - c[col]):+.2f} points against the complete DAG with "
                f"{c.final_macs / max(a.final_macs, 1):.2f}x fewer MACs, so the accuracy ordering "
                f"{'matches' if better(a[col], c[col]) else 'does not match'} and the cost ordering "
                f"{'matches' if a.final_macs <= c.final_macs else 'does not match'}."
            )
        else:
            parts.append(
                f"The paper's ShrinkRNN has 6.6 lower perplexity than its complete DAG with 30% fewer parameters; here "
                f"AutoShrink's final perplexity is {a[col] - c[col]:+.2f} against the complete DAG with "
                f"{100 * (1 - a.final_params / max(c.final_params, 1)):.0f}% fewer parameters, so the perplexity "
                f"ordering {'matches' if better(a[col], c[col]) else 'does not match'}."
            )
    wiring = [row[r] for r in RANDOM_GRAPH_ROWS if r in row]
    if metric == "accuracy" and shrink is not None and wiring:
        beaten = [s for s in wiring if better(means.loc[shrink][col], means.loc[s][col])]
        parts.append(
            f"The paper's ShrinkCNN is more accurate than every random-graph prior; here AutoShrink is at "
            f"least as accurate as {len(beaten)} of {len(wiring)} ({', '.join(beaten) or 'none'})."
        )
    return " ".join(parts)
