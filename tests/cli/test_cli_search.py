import json

import optuna
from typer.testing import CliRunner

from nasbench_shrink.cli import app

runner = CliRunner()


def _one_error_line(res):
    assert res.exit_code != 0
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    return lines[0]


def test_strategies_lists_everything():
    res = runner.invoke(app, ["strategies", "--json"])
    assert res.exit_code == 0
    rows = json.loads(res.stdout)
    assert {"autoshrink", "ws", "evolution", "tpe"} <= {r["name"] for r in rows}
    assert all(r["description"] for r in rows)


def test_search_with_budget_then_resume_and_bad_inputs(tmp_path):
    store = f"sqlite:///{tmp_path / 'studies.db'}"
    cache = f"sqlite:///{tmp_path / 'cache.db'}"
    args = ["search", "-s", "random", "--nodes", "4", "--budget-evals", "3", "--storage", store, "--cache", cache]
    res = runner.invoke(app, args + ["--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["complete"] == 3 and out["cell"]["nodes"] == 4 and "best_score" in out
    # a larger budget is refused unless asked to extend the stored run; then it resumes the same study
    larger = args[:-6] + ["--budget-evals", "5", "--storage", store, "--cache", cache, "--json"]
    assert "--extend" in _one_error_line(runner.invoke(app, larger))
    res = runner.invoke(app, larger + ["--extend"])
    assert json.loads(res.stdout)["complete"] == 5
    # a rerun with other settings is refused and the study is kept
    assert "other settings" in _one_error_line(
        runner.invoke(
            app,
            [
                "search",
                "-s",
                "random",
                "--nodes",
                "5",
                "--budget-evals",
                "3",
                "--storage",
                store,
                "--cache",
                cache,
                "--study",
                "digits/random/seed0",
            ],
        )
    )
    assert len(optuna.load_study(study_name="digits/random/seed0", storage=store).trials) == 5
    assert "does not finish by itself" in _one_error_line(
        runner.invoke(app, ["search", "-s", "random", "--storage", store])
    )
    assert "unknown strategy" in _one_error_line(runner.invoke(app, ["search", "-s", "nope", "--storage", store]))
    assert "at most one" in _one_error_line(runner.invoke(app, args + ["--budget-seconds", "3"]))
    assert "cannot open study storage" in _one_error_line(
        runner.invoke(app, ["search", "-s", "complete", "--storage", "postgresql://x@127.0.0.1:1/none"])
    )


def test_search_prints_the_best_cell(tmp_path):
    res = runner.invoke(
        app,
        [
            "search",
            "-s",
            "complete",
            "--nodes",
            "4",
            "--storage",
            f"sqlite:///{tmp_path / 's.db'}",
            "--cache",
            f"sqlite:///{tmp_path / 'c.db'}",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "best trial #0" in res.stdout and '"nodes": 4' in res.stdout


def test_search_on_a_table_prints_its_regret_and_names_the_objective(tmp_path):
    import json

    import optuna
    from typer.testing import CliRunner

    from nasbench_shrink.analysis.report import table_landscape
    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.cli import app
    from search_spaces import Cell

    db = f"sqlite:///{tmp_path / 's.db'}"
    res = CliRunner().invoke(
        app, ["search", "-s", "random", "-b", "digits-table", "--budget-evals", "15", "--storage", db, "--json"]
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    land = table_landscape(get_benchmark("digits-table"))
    key = Cell.from_dict(summary["cell"]).key
    assert summary["regret"] == land.best_score - land.true_score[key] >= 0
    study = optuna.load_study(study_name="digits-table/random/seed0", storage=db)
    assert study.metric_names == ["score (λ = 0.03)"]
