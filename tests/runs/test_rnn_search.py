"""RNN cells through the strategies and compare, on a CI-sized PTB benchmark plugged in by entry point."""

import json
import textwrap

import pandas as pd
import pytest
from helpers import check_trajectory, install_fake_distribution
from typer.testing import CliRunner

from nasbench_shrink.cli import app
from nasbench_shrink.runs.search import SearchSpec, run_search

runner = CliRunner()

PLUGIN = textwrap.dedent("""
    from dataclasses import replace
    from nasbench_shrink.catalogue import get_benchmark
    from search_spaces.rnn import RNNConfig

    _tiny = get_benchmark("ptb-tiny")
    PTB_CI = replace(_tiny, name="ptb-ci", vocab_limit=300,
                     proxy=replace(_tiny.proxy, network=RNNConfig(emb_size=16, hidden_size=16),
                                   recipe=replace(_tiny.proxy.recipe, max_epochs=1, batch_size=64)),
                     final=replace(_tiny.final, network=RNNConfig(emb_size=16, hidden_size=16, dropout_in=0.1),
                                   recipe=replace(_tiny.final.recipe, max_epochs=1, batch_size=64)))
""")


@pytest.fixture
def ptb_ci(tmp_path, monkeypatch, shared_data):
    install_fake_distribution(tmp_path, "ci_bench", PLUGIN, "nasbench_shrink.benchmarks", "ptb-ci = ci_bench:PTB_CI")
    monkeypatch.syspath_prepend(str(tmp_path))
    return shared_data


def test_autoshrink_on_an_rnn_benchmark(ptb_ci, tmp_path):
    spec = SearchSpec(
        strategy="autoshrink",
        benchmark="ptb-ci",
        nodes=4,
        k=2,
        data_dir=str(ptb_ci),
        storage=f"sqlite:///{tmp_path / 's.db'}",
        cache=f"sqlite:///{tmp_path / 'c.db'}",
    )
    study = run_search(spec)
    check_trajectory(study, k=2)
    t = study.best_trial
    assert t.user_attrs["perplexity"] > 1 and "accuracy" not in t.user_attrs
    assert t.user_attrs["cell"]["ops"][1] in ("relu", "sigmoid", "tanh", "identity")


def test_show_reports_params_and_vocab(ptb_ci):
    res = runner.invoke(app, ["show", "complete:6", "-b", "ptb-proxy", "--data-dir", str(ptb_ci), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    V = info["vocab_size"]
    assert info["params"] == V * 200 + V + 400 * 400 + 15 * 80000


@pytest.mark.slow
def test_compare_on_an_rnn_benchmark_labels_perplexity(ptb_ci, tmp_path):
    out = tmp_path / "cmp"
    res = runner.invoke(
        app,
        [
            "compare",
            "-b",
            "ptb-ci",
            "--strategies",
            "autoshrink,complete,random",
            "--seeds",
            "0",
            "--nodes",
            "3",
            "--k",
            "2",
            "--workers",
            "2",
            "--data-dir",
            str(ptb_ci),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    summary = pd.read_csv(out / "summary.csv")
    assert "final_test_perplexity" in summary.columns and (summary["final_test_perplexity"] > 1).all()
    report = (out / "report.md").read_text()
    assert "final test perplexity" in report and "Table 5" in report
