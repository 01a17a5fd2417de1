"""One look for every figure: seaborn's theme, constrained layout, one colour per strategy, legends that sit
outside the data (in columns past a cap), readable log axes, and PNGs saved without clipping."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

__all__ = ["DPI", "LEGEND_ROWS", "drawn_aside", "figure", "legend_outside", "palette", "plt", "regret_axis", "save"]

DPI = 130
TAB10_AND_TWO = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#7b4173",
    "#000080",
]
LEGEND_ROWS = 12  # a legend longer than this wraps into more columns


def plt():
    """matplotlib's pyplot on the Agg backend, with the project's seaborn theme applied."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    return pyplot


def figure(width: float = 8.5, height: float = 4.8, nrows: int = 1, ncols: int = 1, **kw):
    """A figure with constrained layout (labels, titles and outside legends all kept on the canvas)."""
    return plt().subplots(nrows, ncols, figsize=(width, height), layout="constrained", **kw)


def width_for(entries: int, base: float = 8.5) -> float:
    """A figure's width when its outside legend has ``entries``: wider by a column's width for each extra
    legend column, so the axes keep their size."""
    return base + 2.0 * (int(np.ceil(entries / LEGEND_ROWS)) - 1)


def engineering_x(ax) -> None:
    """Plain engineering labels on the x axis (10G, 20G; 10k, 100k): no offset text to collide with the label."""
    from matplotlib.ticker import EngFormatter

    ax.xaxis.set_major_formatter(EngFormatter(sep=""))


def log_x(ax, engineering: bool = False) -> None:
    """A log x axis labelled at 1, 2 and 5 of each decade in plain numbers (``engineering``: 10k, 20k, 50k), with
    unlabelled minor ticks: over a decade or less, matplotlib's default labels every minor tick in scientific
    notation and they run into each other."""
    from matplotlib.ticker import EngFormatter, FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(EngFormatter(sep="") if engineering else FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def marker_size(markers: int, few: float = 80.0) -> tuple[float, float]:
    """(size, alpha) of a scatter's markers: ``few`` and opaque up to 300 markers, smaller and see-through beyond,
    so a comparison of hundreds of seeds shows where each strategy's runs lie instead of the last one drawn."""
    if markers <= 300:
        return few, 1.0
    return max(8.0, few * np.sqrt(300 / markers)), 0.5


def palette(names: Sequence[str]) -> dict[str, tuple]:
    """The same colour for a strategy in every figure of a report (the order the strategies were given)."""
    import seaborn as sns

    names = list(dict.fromkeys(names))
    if len(names) <= len(TAB10_AND_TWO):  # tab10's ten, then plum and navy (husl's neighbours look alike)
        colours = [sns.color_palette(TAB10_AND_TWO)[i] for i in range(len(names))]
    else:
        colours = sns.color_palette("husl", len(names))
    return dict(zip(names, colours))


def legend_outside(ax, title: str | None = None, handles=None, labels=None) -> None:
    """The legend to the right of the axes, in as many columns as ``LEGEND_ROWS`` entries need."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    ncol = int(np.ceil(len(handles) / LEGEND_ROWS))
    ax.legend(
        handles,
        labels,
        title=title,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        ncol=ncol,
        frameon=True,
        fontsize="small",
        title_fontsize="small",
        borderaxespad=0.0,
    )


def regret_axis(ax, values: np.ndarray) -> None:
    """A symmetric-log y axis for regret that shows 0 (the optimum, or a surrogate's best known cell) and labels
    every tick in plain numbers: linear below the smallest positive decade present, logarithmic above, ticks at 1, 2
    and 5 × 10^k."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    positive = v[v > 0]
    lo = 10.0 ** np.floor(np.log10(positive.min())) if positive.size else 1e-3
    hi = 10.0 ** np.ceil(np.log10(positive.max())) if positive.size else 1.0
    ax.set_yscale("symlog", linthresh=lo, linscale=0.4)
    decades = 10.0 ** np.arange(np.log10(lo), np.log10(hi) + 0.5)
    ticks = [0.0] + sorted({float(f"{m * d:.3g}") for d in decades for m in (1, 2, 5) if m * d <= hi * 1.0001})
    if len(ticks) > 9:  # many decades: the decades alone
        ticks = [0.0] + [float(f"{d:.3g}") for d in decades]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: "0 (optimum / best known)" if y == 0 else f"{y:g}"))
    top = max(float(v.max()) if v.size else hi, lo) * 1.15
    ax.set_ylim(min(-0.05 * lo, 1.15 * float(v.min()) if v.size else 0.0), top)  # < 0: past a best known cell


def save(fig, path: str | Path, dpi: int = DPI) -> Path:
    """Write the PNG (nothing outside the canvas is cut) and free the figure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt().close(fig)
    return path


def drawn_aside(draw: Callable[[], None]) -> Callable[[], None]:
    """Run ``draw`` (figures written to files, nothing returned) in a forked process while this one goes on, and
    return the function that waits for it and raises its error: savefig is most of a report's time, and its
    figures are independent files. Drawn here, at once, where fork is unavailable or there is one core."""
    import multiprocessing as mp
    import os
    import warnings

    if "fork" not in mp.get_all_start_methods() or (os.cpu_count() or 1) < 2:
        draw()
        return lambda: None
    ctx = mp.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)

    def child() -> None:
        try:
            draw()
            send.send(None)
        except BaseException as exc:  # the parent raises it
            send.send(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))

    with warnings.catch_warnings():  # Python >= 3.12 warns of fork beside threads; the child only draws
        warnings.simplefilter("ignore", DeprecationWarning)
        proc = ctx.Process(target=child, daemon=True)
        proc.start()
    send.close()  # the child's end only: a child that dies unheard reads as end-of-file here

    def join() -> None:
        try:
            outcome = receive.recv()
        except EOFError:
            outcome = RuntimeError("the figure process ended without drawing its figures")
        finally:
            receive.close()
            proc.join()
        if outcome is not None:
            raise outcome

    return join
