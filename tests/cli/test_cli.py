import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nasbench_shrink.cli import app

runner = CliRunner()
CELL = {
    "space": "cnn",
    "nodes": 4,
    "edges": [[0, 1], [0, 2], [1, 3], [2, 3]],
    "ops": ["input", "conv1x1", "sep3x3", "conv1x1"],
}


@pytest.fixture
def cell_file(tmp_path):
    p = tmp_path / "cell.json"
    p.write_text(json.dumps(CELL))
    return p


def test_benchmarks_lists_presets():
    res = runner.invoke(app, ["benchmarks", "--json"])
    assert res.exit_code == 0
    names = {b["name"] for b in json.loads(res.stdout)}
    assert {"digits", "cifar10-proxy"} <= names


def test_show_json_and_png(cell_file, tmp_path):
    png = tmp_path / "cell.png"
    res = runner.invoke(app, ["show", str(cell_file), "--json", "--png", str(png)])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    assert info["edges"] == 4 and info["macs"] > 0 and info["params"] > 0 and len(info["key"]) == 20
    assert png.stat().st_size > 1000
    cifar = json.loads(runner.invoke(app, ["show", str(cell_file), "-b", "cifar10-proxy", "--json"]).stdout)
    assert cifar["macs"] > info["macs"]


def test_evaluate_json_then_cache_hit(cell_file, tmp_path):
    url = f"sqlite:///{tmp_path / 'cache.db'}"
    res = runner.invoke(app, ["evaluate", str(cell_file), "--json", "--cache", url])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    for k in (
        "key",
        "benchmark",
        "accuracy",
        "score",
        "macs",
        "params",
        "cost_s",
        "train_flops",
        "epochs",
        "cache_hit",
    ):
        assert k in out
    assert out["cache_hit"] is False
    again = json.loads(runner.invoke(app, ["evaluate", str(cell_file), "--json", "--cache", url]).stdout)
    assert again["cache_hit"] is True and again["cost_s"] == out["cost_s"]


def _bad(args, tmp_path):
    res = runner.invoke(app, args)
    assert res.exit_code != 0
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    assert "Traceback" not in res.output
    return lines[0]


def test_bad_inputs_give_one_line_and_nonzero_exit(cell_file, tmp_path, monkeypatch):
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{oops")
    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps({**CELL, "edges": [[1, 1]]}))
    assert "not valid JSON" in _bad(["evaluate", str(bad_json)], tmp_path)
    assert "self-loop" in _bad(["evaluate", str(invalid)], tmp_path)
    assert "does not exist" in _bad(["evaluate", str(tmp_path / "nope.json")], tmp_path)
    assert "unknown benchmark" in _bad(["evaluate", str(cell_file), "-b", "imagenet"], tmp_path)
    assert "does not exist" in _bad(
        ["evaluate", str(cell_file), "-b", "cifar10-proxy", "--data-dir", str(tmp_path / "missing"), "--no-cache"],
        tmp_path,
    )
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "cifar-10-python.tar.gz").write_bytes(b"garbage")
    assert "md5" in _bad(
        ["evaluate", str(cell_file), "-b", "cifar10-proxy", "--data-dir", str(corrupt), "--no-cache"], tmp_path
    )
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "cifar10-jpeg.tar.gz").write_bytes(b"garbage")
    assert "not a readable" in _bad(
        ["evaluate", str(cell_file), "-b", "cifar10-proxy", "--data-dir", str(junk), "--no-cache"], tmp_path
    )
    assert "not writable" in _bad(["evaluate", str(cell_file), "--cache", "sqlite:////proc/none/c.db"], tmp_path)
    rnn = tmp_path / "rnn.json"
    rnn.write_text(json.dumps({"space": "rnn", "nodes": 2, "edges": [[0, 1]], "ops": ["input", "tanh"]}))
    assert "rnn" in _bad(["show", str(rnn)], tmp_path)


def test_console_script_bad_input_has_no_traceback(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    proc = subprocess.run(
        [sys.executable, "-m", "nasbench_shrink.cli", "evaluate", str(bad)],
        capture_output=True,
        text=True,
        env={**os.environ},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_shared_cifar10_proxy_evaluation_shortened(shared_data, tmp_path):
    """A real cifar10-proxy evaluation from the shared ImageFolder tarball (one epoch: CPU-sized)."""
    from nasbench_shrink import evaluate
    from nasbench_shrink.catalogue import get_benchmark, register_benchmark
    from nasbench_shrink.evaluation.training import TrainRecipe
    from search_spaces import Cell

    bench = get_benchmark("cifar10-proxy")
    short = bench.with_options(name="cifar10-proxy-1ep").with_stage(
        "proxy", recipe=TrainRecipe(max_epochs=1, min_acc_epoch=None)
    )
    register_benchmark(short)
    rec = evaluate(Cell.from_dict(CELL), short, seed=0, data_dir=shared_data)
    assert rec.epochs == 1 and rec.train_images == 5000
    assert rec.accuracy > 0.2  # clearly above chance (0.1) after one epoch on 5,000 images (measured: 0.316)


def test_landscape_one_table_and_tables_side_by_side(tmp_path):
    one = runner.invoke(app, ["landscape", "-b", "digits-table", "--json"])
    assert one.exit_code == 0, one.output
    info = json.loads(one.stdout)
    assert info["benchmark"] == "digits-table" and info["optimum"]["edges"] >= 1
    both = runner.invoke(app, ["landscape", "-b", "digits-table", "-b", "digits-table", "--lam", "0", "--json"])
    infos = json.loads(both.stdout)
    assert [i["lam"] for i in infos] == [0.0, 0.0] and infos[0]["optimum"]["edges"] >= info["optimum"]["edges"]
    view = runner.invoke(app, ["landscape", "-b", "digits-table", "-b", "digits-table"], env={"COLUMNS": "160"})
    assert view.exit_code == 0 and view.stdout.count("digits-table") == 2 and "Spearman between seeds" in view.stdout
    png = str(tmp_path / "x.png")
    bad = runner.invoke(app, ["landscape", "-b", "digits-table", "-b", "digits-table", "--png", png])
    assert bad.exit_code != 0 and "pass one -b" in bad.output and not (tmp_path / "x.png").exists()
    live = runner.invoke(app, ["landscape", "-b", "digits"])
    assert live.exit_code != 0 and "needs a table" in live.output


@pytest.mark.parametrize(
    "args, needle",
    [
        (["search", "-s", "random", "--seed", "-1"], "--seed"),
        (["search", "-b", "digits-table"], "--strategy"),
        (["compare", "--nodes", "1"], "--nodes"),
        (["compare", "--format"], "--format"),
        (["no-such-command"], "no-such-command"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args, needle):
    proc = subprocess.run([sys.executable, "-m", "nasbench_shrink.cli", *args], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], proc.stderr
    assert proc.stdout == ""


def test_stored_search_with_another_budget_is_refused_or_extended(tmp_path):
    db = f"sqlite:///{tmp_path / 's.db'}"
    base = ["search", "-s", "random", "-b", "digits-table", "--storage", db, "--json"]
    first = runner.invoke(app, [*base, "--budget-evals", "20"])
    assert first.exit_code == 0 and json.loads(first.stdout)["charged_evaluations"] == 20
    for budget in ("10", "30"):
        res = runner.invoke(app, [*base, "--budget-evals", budget])
        assert res.exit_code == 2 and "budget of 20 evals" in res.stderr
        assert ("--extend" in res.stderr) == (budget == "30")
    assert json.loads(runner.invoke(app, [*base, "--budget-evals", "20"]).stdout)["charged_evaluations"] == 20
    more = runner.invoke(app, [*base, "--budget-evals", "30", "--extend"])
    assert more.exit_code == 0 and json.loads(more.stdout)["charged_evaluations"] == 30


def test_absurd_budget_and_too_many_workers_warn_in_one_line_each(tmp_path, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    res = runner.invoke(
        app,
        [
            "compare",
            "-b",
            "digits-table",
            "--strategies",
            "complete",
            "--seeds",
            "0",
            "--budget-evals",
            "5000000",
            "-w",
            "2",
            "--out",
            str(tmp_path / "o"),
            "--format",
            "csv",
        ],
    )
    assert res.exit_code == 0, res.output
    warnings = [ln for ln in res.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 2
    assert "2553 architectures" in warnings[0] and "--workers 2 exceeds the 1 core here" in warnings[1]


@pytest.mark.parametrize(
    "args, says",
    [
        (["--budget-wallclock", "-5", "--workers-sim", "2"], "--budget-wallclock must be a positive number"),
        (["--budget-seconds", "-5"], "--budget-seconds must be a positive number"),
        (["--budget-flops", "0"], "--budget-flops must be a positive number"),
        (["--seeds", "0-99999999999"], "at most 100,000"),
        (["--seeds", "5-1"], "reversed"),
    ],
)
def test_bad_compare_inputs_end_in_one_line_before_any_folder(tmp_path, args, says):
    from typer.testing import CliRunner

    from nasbench_shrink.cli import app

    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["compare", *args, "--out", str(out)])
    assert res.exit_code == 2 and says in res.output and "Traceback" not in res.output
    assert len([line for line in res.output.splitlines() if line.startswith("error:")]) == 1
    assert not out.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["landscape", "-b", "digits-table", "--png", "{missing}/x.png"],
        ["proxies", "-b", "digits-table", "--out", "{missing}/t.parquet"],
        ["show", "complete:5", "--png", "{missing}/c.png"],
    ],
)
def test_unwritable_outputs_are_refused_before_the_work(tmp_path, argv):
    from typer.testing import CliRunner

    from nasbench_shrink.cli import app

    missing = tmp_path / "no" / "such"
    res = CliRunner().invoke(app, [a.format(missing=missing) for a in argv])
    assert res.exit_code == 2 and "does not exist" in res.output and "Traceback" not in res.output


def test_a_plug_in_is_shown_under_the_name_it_declares(tmp_path):
    import pandas as pd
    from typer.testing import CliRunner

    from nasbench_shrink.cli import app
    from nasbench_shrink.strategies import resolve

    plug = str(Path(__file__).resolve().parents[2] / "examples" / "hill_climb.py") + ":factory"
    assert resolve(plug).display_name == "hill-climb"
    out = tmp_path / "run"
    res = CliRunner().invoke(
        app,
        [
            "compare",
            "-b",
            "digits-table",
            "--strategies",
            f"autoshrink,{plug}",
            "--seeds",
            "0-1",
            "--no-final",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert set(pd.read_csv(out / "summary.csv")["strategy"]) == {"autoshrink", "hill-climb"}
    assert "hill-climb" in res.output and "hill_climb.py" not in res.output
