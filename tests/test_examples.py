"""The plug-in example compares against built-ins on the shipped table with the README's command."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from nasbench_shrink.cli import DEFAULT_COMPARE_BENCHMARK, app
from nasbench_shrink.tables import SHIPPED_TABLES_DIR as TABLES_DIR

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.mark.skipif(
    not (TABLES_DIR / f"{DEFAULT_COMPARE_BENCHMARK}.parquet").is_file(),
    reason=f"needs the shipped table {DEFAULT_COMPARE_BENCHMARK}, compare's default",
)
def test_plugin_example_runs_against_builtins_on_the_table(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the README's command names the example by its path from the repository root
    res = CliRunner().invoke(
        app,
        [
            "compare",
            "--strategies",
            "autoshrink,random,examples/hill_climb.py:factory",
            "--seeds",
            "0-4",
            "--workers",
            "2",
            "--out",
            str(tmp_path / "run"),
        ],
    )
    assert res.exit_code == 0, res.output
    summary = pd.read_csv(tmp_path / "run" / "summary.csv")
    # a plug-in appears under the name it declares (HillClimbSampler.strategy_name)
    assert set(summary["strategy"]) == {"autoshrink", "random", "hill-climb"}
    assert len(summary) == 15 and summary["final_regret"].ge(0).all()
    trials = pd.read_csv(tmp_path / "run" / "trials.csv")
    assert trials["regret"].notna().all() and os.path.getsize(tmp_path / "run" / "rank.png") > 10_000
