"""What a table compare prints and draws: the terminal table at 80 columns, the summary formats, the shrink
figure's data against the storage."""

from __future__ import annotations

import json

import optuna
import pandas as pd
import pytest
from typer.testing import CliRunner

from nasbench_shrink import make_sampler
from nasbench_shrink.analysis.report import shrink_steps
from nasbench_shrink.cli import app
from nasbench_shrink.runs.compare import store_studies

runner = CliRunner()
SEEDS = [0, 1, 2]


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tbl") / "run"
    res = runner.invoke(
        app, ["compare", "-b", "digits-table", "--seeds", "0-2", "--out", str(out)], env={"COLUMNS": "80"}
    )
    assert res.exit_code == 0, res.output
    return out, res.stdout


def test_terminal_table_fits_80_columns_with_intervals_and_a12(table_run):
    _, stdout = table_run
    assert "…" not in stdout  # no cell cut
    assert max(len(line) for line in stdout.splitlines()) <= 80
    for name in ("autoshrink", "optuna-random", "evolution", "complete"):
        assert f" {name} " in stdout
    assert "A12" in stdout and "[95% CI]" in stdout and "p (Holm)" in stdout


def test_summary_formats(table_run):
    out, _ = table_run
    res = runner.invoke(app, ["compare", "-b", "digits-table", "--seeds", "0-2", "--out", str(out), "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["reference"] == "autoshrink" and data["tested"] == "final_regret"
    assert {"a12", "p_holm", "final_regret_lo", "final_regret_hi"} <= set(data["rows"][0])
    csv = runner.invoke(app, ["compare", "-b", "digits-table", "--seeds", "0-2", "--out", str(out), "--format", "csv"])
    assert csv.stdout.splitlines()[0].startswith("strategy,") and len(csv.stdout.splitlines()) == 1 + 9
    md = runner.invoke(app, ["compare", "-b", "digits-table", "--seeds", "0-2", "--out", str(out), "--format", "md"])
    assert md.stdout.startswith("| strategy |") and md.stdout.count("\n") == 2 + 9
    bad = runner.invoke(app, ["compare", "-b", "digits-table", "--seeds", "0-2", "--out", str(out), "--format", "xls"])
    assert bad.exit_code == 2 and "--format" in bad.stderr
    settings = json.loads((out / "compare.json").read_text())
    assert settings["invocations"] == 4 and settings["wall_s_total"] >= settings["wall_s"]
    assert f"{settings['wall_s_total']} s over 4 invocations" in (out / "report.md").read_text()


def test_shrink_figure_data_is_each_steps_chosen_cell(table_run):
    out, _ = table_run
    store_studies(out, SEEDS)  # a table comparison's studies are stored on request
    steps = shrink_steps(pd.read_csv(out / "trials.csv"))
    for seed in SEEDS:
        sampler = make_sampler("autoshrink", benchmark="digits-table", seed=seed)
        study = optuna.load_study(
            study_name=f"digits-table/autoshrink/seed{seed}", storage=f"sqlite:///{out / 'studies.db'}", sampler=sampler
        )
        chosen = [len(s.chosen.cell.active_edges) for s in sampler.trajectory(study).steps if s.chosen is not None]
        drawn = steps[steps.seed == seed].sort_values("step")["edges"].tolist()
        assert drawn == chosen
        assert drawn == sorted(drawn, reverse=True) and drawn[-1] == 0  # one edge fewer (or more, pruned) per step


def test_anytime_curve_ends_at_the_final_tables_iqm(table_run):
    """The curve reads the incumbent's true regret as it stands, so its last point is the final table's IQM."""
    from nasbench_shrink.analysis import stats
    from nasbench_shrink.analysis.report import _best_so_far, anytime_y, comparison
    from nasbench_shrink.analysis.results import RunKind

    out, _ = table_run
    trials, summary = pd.read_csv(out / "trials.csv"), pd.read_csv(out / "summary.csv")
    t = trials[trials["within_budget"]]
    y, maximize, _ = anytime_y(t, "cum_train_flops")
    assert y == "regret" and not _best_so_far(y)
    curves = stats.anytime(t.dropna(subset=[y]), "cum_train_flops", y, maximize, best_so_far=_best_so_far(y))
    table, _, target, _ = comparison(
        summary, "flops", RunKind.from_settings(json.loads((out / "compare.json").read_text()))
    )
    for strategy, g in curves.groupby("strategy"):
        final = table.set_index("strategy").loc[strategy, target]
        assert g.sort_values("x")["iqm"].iloc[-1] == pytest.approx(final, abs=1e-12), strategy


def test_a_run_whose_incumbent_worsens_shows_it_in_the_curve():
    from nasbench_shrink.analysis import stats

    xs = pd.Series([1.0, 2.0, 3.0])
    regret = pd.Series([0.02, 0.01, 0.03])  # a lucky worse cell takes over at x = 3
    as_it_stands = stats.step_values(xs.to_numpy(), regret.to_numpy(), [1.0, 2.0, 3.0], False, best_so_far=False)
    assert list(as_it_stands) == [0.02, 0.01, 0.03]


def test_cells_figure_picks_each_strategys_best_by_true_score(table_run, monkeypatch):
    from nasbench_shrink.analysis import report
    from nasbench_shrink.catalogue import get_benchmark

    out, _ = table_run
    summary = pd.read_csv(out / "summary.csv")
    land = report.table_landscape(get_benchmark("digits-table"))
    drawn = []
    monkeypatch.setattr(
        "nasbench_shrink.analysis.draw.draw_cell",
        lambda cell, ax, title=None: (drawn.append(title), ax.set_xlim(0, 1), ax.set_ylim(0, 1)),
    )
    caption = report.cells_figure(summary, out / "cells-test.png", land)
    assert "true (seed-mean) score" in caption
    for strategy, g in summary.groupby("strategy", sort=False):
        true = [land.true_score[k] for k in g["best_arch_key"]]
        i = max(range(len(true)), key=lambda j: true[j])
        title = next(t for t in drawn if t.startswith(f"{strategy} ("))
        assert f"(seed {g['seed'].iloc[i]})" in title and f"true score {max(true):.3f}" in title


def test_80_column_table_keeps_a12_p_and_w_with_a_30_character_name():
    from rich.console import Console

    from nasbench_shrink.cli.compare import clock_view
    from nasbench_shrink.cli.final_table import fitted_table

    long = "a-plug-in-strategy-named-at-30"
    assert len(long) == 30
    view = fitted_table(
        "t",
        ["strategy", "final regret [95% CI]", "vs ref.", "p (Holm)", "A12"],
        [
            [long, "0.02428 [0.0199, 0.0285]", "n.s.", "0.0242", "0.75"],
            ["autoshrink-sweep", "0.02 [0.01, 0.03]", "reference", "–", "–"],
        ],
    )
    console = Console(width=80, record=True)
    console.print(view)
    text = console.export_text()
    assert "…" not in text and "0.75" in text and "0.0242" in text and "[0.0199, 0.0285]" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    clock = pd.DataFrame(
        [
            {
                "workers": 16,
                "strategy": long,
                "time_to_top1pct": "1.2k [900, 1.5k]",
                "reached": 1.0,
                "speedup": 3.1,
                "makespan_speedup": 2.9,
                "utilisation": 0.93,
            }
        ]
    )
    console = Console(width=80, record=True)
    console.print(clock_view(clock))
    text = console.export_text()
    assert "…" not in text and " 16 " in text and "3.10x" in text
    header = next(line for line in text.splitlines() if "strategy" in line)
    assert "┃ W ┃" in header or "│ W │" in header or " W " in header
