"""The comparison's final table for a terminal that may be 80 columns wide, and as Markdown, CSV or JSON.

The tested column (IQM and bootstrap interval) and the test against the reference (verdict, Holm-corrected p,
A12) always print in full; the other columns (test metric, MACs, search cost) print with their intervals when the
width allows, else as IQMs alone, and move to a second table when one would not fit. Nothing is ever cut.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    import pandas as pd

    from nasbench_shrink.analysis.results import RunKind

__all__ = ["FORMATS", "final_table_text", "final_table_views", "fitted_table"]

FORMATS = ("table", "md", "csv", "json")
_VERDICT = {"reference": "reference", "not significant": "n.s.", "better": "better", "worse": "worse"}


def _num(v, col: str, digits: int = 4) -> str:
    import pandas as pd

    from nasbench_shrink.analysis.results import SCALE

    if v is None or pd.isna(v):
        return "–"
    x = float(v) * SCALE.get(col, 1.0)
    return f"{x:.{min(digits, 3)}g}" if abs(x) >= 1e5 else f"{x:.{digits}g}"


def _with_ci(r, col: str) -> str:
    return f"{_num(r[col], col)} [{_num(r[col + '_lo'], col, 3)}, {_num(r[col + '_hi'], col, 3)}]"


def fitted_table(title: str, header: list[str], rows: list[list[str]], name_column: int = 0) -> Table:
    """A rich table in which every column but the name column keeps its full width (``min_width``): a table too
    wide for the terminal folds long strategy names onto more lines instead of cutting numbers to '…'."""
    view = Table(title=Text(title), title_justify="left")
    for j, h in enumerate(header):
        if j == name_column:
            view.add_column(h, justify="left", overflow="fold", min_width=min(12, max(len(h), 4)))
        else:
            full = max([len(h)] + [len(r[j]) for r in rows])
            view.add_column(h, justify="right", no_wrap=True, min_width=full)
    for r in rows:
        view.add_row(*(Text(x) for x in r))  # brackets are intervals, not markup
    return view


def _width(header: list[str], rows: list[list[str]]) -> int:
    """Characters a rich table with a box and one space of padding takes for these cells (the name column
    counted at most 12 wide: it folds)."""
    cols = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    cols[0] = min(cols[0], 12)
    return sum(cols) + 3 * len(cols) + 1


def _test_cells(table: pd.DataFrame, target: str, reference: str | None) -> tuple[list[str], list[list[str]]]:
    import pandas as pd

    from nasbench_shrink.analysis.report import p_text
    from nasbench_shrink.analysis.results import LABELS

    header = ["strategy", f"{LABELS.get(target, target)} [95% CI]", "vs ref.", "p (Holm)", "A12"]
    rows = []
    for _, r in table.iterrows():
        tested = not (r["verdict"] == "reference" or pd.isna(r["p_holm"]))
        rows.append(
            [
                r["strategy"],
                _with_ci(r, target),
                _VERDICT.get(r["verdict"], r["verdict"] or "–"),
                p_text(r["p_holm"]) if tested else "–",
                f"{r['a12']:.2f}" if tested else "–",
            ]
        )
    return header, rows


def _other_cells(table: pd.DataFrame, columns: list[str], ci: bool) -> tuple[list[str], list[list[str]]]:
    from nasbench_shrink.analysis.results import LABELS

    header = [LABELS.get(c, c) for c in columns]
    rows = [[_with_ci(r, c) if ci else _num(r[c], c) for c in columns] for _, r in table.iterrows()]
    return header, rows


def final_table_views(summary: pd.DataFrame, kind: str, run: RunKind, width: int = 80) -> list[Table]:
    """The final table as one or two rich tables, each at most ``width`` characters wide."""
    from nasbench_shrink.analysis.report import comparison

    table, columns, target, reference = comparison(summary, kind, run)
    others = [c for c in columns if c != target]
    th, trows = _test_cells(table, target, reference)
    title = (
        f"final table: IQM over {int(table['seeds'].max())} seeds [bootstrap 95% CI]; vs ref. = against "
        f"{reference or '–'}: paired Wilcoxon, Holm-corrected p, A12 (> 0.5: better than it)"
    )
    layouts: list[list[tuple[list[str], list[list[str]]]]] = []
    for ci in (True, False):
        oh, orows = _other_cells(table, others, ci)
        layouts.append([(th + oh, [a + b for a, b in zip(trows, orows)])])  # one table
    for ci in (True, False):
        oh, orows = _other_cells(table, others, ci)
        layouts.append([(th, trows), (["strategy"] + oh, [[r[0]] + o for r, o in zip(trows, orows)])])
    chosen = next((lay for lay in layouts if all(_width(h, r) <= width for h, r in lay)), layouts[-1])
    return [
        fitted_table(title if i == 0 else "final table, continued: the found cells and the search cost", header, rows)
        for i, (header, rows) in enumerate(chosen)
    ]


def final_table_text(summary: pd.DataFrame, kind: str, run: RunKind, fmt: str) -> str:
    """The final table as Markdown (what report.md holds), CSV or JSON (every number, unrounded)."""
    from nasbench_shrink.analysis.report import comparison

    table, columns, target, reference = comparison(summary, kind, run)
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        return (
            json.dumps(
                {
                    "tested": target,
                    "reference": reference,
                    "kind": kind,
                    "rows": json.loads(table.to_json(orient="records")),
                },
                indent=2,
            )
            + "\n"
        )
    th, trows = _test_cells(table, target, reference)
    oh, orows = _other_cells(table, [c for c in columns if c != target], True)
    lines = ["| " + " | ".join(th + oh) + " |", "|" + "---|" * len(th + oh)]
    lines += ["| " + " | ".join(a + b) + " |" for a, b in zip(trows, orows)]
    return "\n".join(lines) + "\n"
