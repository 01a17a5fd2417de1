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

runner = CliRunner()
SEEDS = [0, 1, 2]


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tbl") / "run"
    res = runner.invoke(app, ["compare", "-b", "digits-table", "--seeds", "0-2", "--out", str(out)],
                        env={"COLUMNS": "80"})
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
    steps = shrink_steps(pd.read_csv(out / "trials.csv"))
    for seed in SEEDS:
        sampler = make_sampler("autoshrink", benchmark="digits-table", seed=seed)
        study = optuna.load_study(study_name=f"digits-table/autoshrink/seed{seed}",
                                  storage=f"sqlite:///{out / 'studies.db'}", sampler=sampler)
        chosen = [len(s.chosen.cell.active_edges) for s in sampler.trajectory(study).steps if s.chosen is not None]
        drawn = steps[steps.seed == seed].sort_values("step")["edges"].tolist()
        assert drawn == chosen
        assert drawn == sorted(drawn, reverse=True) and drawn[-1] == 0  # one edge fewer (or more, pruned) per step
