"""The OptunaHub packages under package/: loaded as the registry would load them, on the tables."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

optunahub = pytest.importorskip("optunahub", reason="optunahub is in the dev extra: pip install -e '.[dev]'")
import yaml  # noqa: E402  (an Optuna dependency)
from optuna.testing.pytest_samplers import BasicSamplerTestCase  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "package"
PACKAGES = ["samplers/autoshrink", "benchmarks/nasbench_shrink"]
FRONT_MATTER = ("author", "title", "description", "tags", "optuna_versions", "license")

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _load(name: str):
    return optunahub.load_local_module(package=name, registry_root=str(REGISTRY))


@pytest.mark.parametrize("name", PACKAGES)
def test_package_layout_and_front_matter(name):
    folder = REGISTRY / name
    for f in ("__init__.py", "README.md", "LICENSE", "example.py", "requirements.txt"):
        assert (folder / f).is_file(), f"{name} lacks {f}"
    text = (folder / "README.md").read_text()
    m = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert m, f"{name}/README.md has no front matter"
    meta = yaml.safe_load(m[1])
    for field in FRONT_MATTER:
        assert meta.get(field), f"{name}/README.md: front matter field {field!r} is missing or empty"
    assert meta["license"] == "MIT License" and "MIT License" in (folder / "LICENSE").read_text()
    assert name.split("/")[0][:-1] in meta["tags"]  # 'sampler' or 'benchmark'
    assert "## Example" in text
    assert (folder / "requirements.txt").read_text().split() == ["nasbench-shrink"]
    init = (folder / "__init__.py").read_text()
    assert "__all__" in init and "class " not in init and "def " not in init  # imports the project, copies nothing
    assert (ROOT / "LICENSE").read_text() == (folder / "LICENSE").read_text()


def test_both_loads_coexist():
    sampler_mod, bench_mod = _load("samplers/autoshrink"), _load("benchmarks/nasbench_shrink")
    again = _load("samplers/autoshrink")  # a second load must not remove the first package
    assert sampler_mod.AutoShrinkSampler is again.AutoShrinkSampler
    assert bench_mod.Problem("digits-table").directions == [optuna.study.StudyDirection.MAXIMIZE]


@pytest.mark.parametrize("table", ["cifar10-small-table", "digits-table"])
def test_tpe_and_autoshrink_studies_of_50_trials(table):
    hub = _load("benchmarks/nasbench_shrink")
    problem = hub.Problem(table, seed=0)
    tpe = optuna.create_study(directions=problem.directions, sampler=optuna.samplers.TPESampler(seed=0))
    tpe.optimize(problem, n_trials=50)
    assert len(tpe.trials) == 50
    assert 0.0 <= problem.regret(tpe.best_params) < problem.known_optimum
    assert tpe.best_value <= problem.known_optimum + 0.05  # one seed's record may beat the seed-mean optimum a bit

    module = _load("samplers/autoshrink")
    sampler = module.AutoShrinkSampler(space=problem.space, nodes=problem.nodes, k=problem.k, seed=0)
    shrink = optuna.create_study(directions=problem.directions, sampler=sampler)
    shrink.optimize(problem, n_trials=50)
    done = [t for t in shrink.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert sampler.is_finished(shrink) and len(done) < 50  # it stops the study when its cell has no edge left
    assert problem.arch_key(shrink.best_params) in problem.landscape.true_score
    assert [len(problem.landscape.cells[problem.arch_key(t.params)].active_edges) for t in done][-1] == 0
    assert 0.0 <= problem.regret(shrink.best_params) < problem.known_optimum


def test_hub_autoshrink_equals_the_command_line_search(tmp_path):
    """The same sampler, table and seed rules: the hub study finds what `nasbench-shrink search` finds."""
    import json

    hub = _load("benchmarks/nasbench_shrink")
    problem = hub.Problem("cifar10-small-table", seed=3)
    sampler = _load("samplers/autoshrink").AutoShrinkSampler(
        space=problem.space, nodes=problem.nodes, k=problem.k, seed=3
    )
    study = optuna.create_study(directions=problem.directions, sampler=sampler)
    study.optimize(problem, n_trials=200)
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "nasbench_shrink.cli",
            "search",
            "-s",
            "autoshrink",
            "-b",
            "cifar10-small-table",
            "--seed",
            "3",
            "--storage",
            f"sqlite:///{tmp_path / 's.db'}",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(cli.stdout)
    assert study.best_value == pytest.approx(out["best_score"])
    assert problem.arch_key(study.best_params) == out["arch_key"]
    assert len([t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]) == out["complete"]


def test_two_objective_problem_and_ground_truth():
    hub = _load("benchmarks/nasbench_shrink")
    problem = hub.Problem("cifar10-small-table", objectives="metric,macs")
    assert problem.directions == [optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE]
    study = optuna.create_study(directions=problem.directions, sampler=optuna.samplers.NSGAIISampler(seed=0))
    study.optimize(problem, n_trials=30)
    front = problem.pareto_front
    worst, largest = problem.reference_point
    assert all(worst <= m and 0 < c <= largest for m, c in front)
    assert [c for _, c in front] == sorted(c for _, c in front) and [m for m, _ in front] == sorted(m for m, _ in front)
    for t in study.trials:  # no answer dominates the exact front's seed-mean values by more than seed noise
        assert t.values[1] >= front[0][1]
    with pytest.raises(Exception, match="unknown objectives"):
        hub.Problem("digits-table", objectives="accuracy")


@pytest.mark.parametrize("name", PACKAGES)
def test_example_scripts_run(name, monkeypatch, capsys):
    """The examples call optunahub.load_module (the registry); here it loads the local package instead."""
    monkeypatch.setattr(optunahub, "load_module", lambda package, **kw: _load(package))
    code = (REGISTRY / name / "example.py").read_text()
    exec(
        compile(code, str(REGISTRY / name / "example.py"), "exec"),
        {"__name__": "__main__", "__file__": str(REGISTRY / name / "example.py")},
    )
    assert "regret" in capsys.readouterr().out


@pytest.mark.parametrize("name", PACKAGES)
def test_example_scripts_fall_back_to_the_clone_without_the_registry(name, monkeypatch, capsys):
    """From a clone with no network the registry load fails; the examples then load this clone's packages."""

    def unreachable(package, **kw):
        raise OSError("registry unreachable")

    monkeypatch.setattr(optunahub, "load_module", unreachable)
    path = REGISTRY / name / "example.py"
    exec(compile(path.read_text(), str(path), "exec"), {"__name__": "__main__", "__file__": str(path)})
    out = capsys.readouterr().out
    assert "loading" in out and "from this clone" in out and "regret" in out


class TestAutoShrinkOnOptunasSamplerSuite(BasicSamplerTestCase):
    """Optuna's basic sampler tests: AutoShrink proposes only its cell parameters and falls back to a seeded
    RandomSampler for any other parameter, which is what these tests exercise. AutoShrink ends by itself (it stops
    the study when its cell has no edge left), so the cell is large enough (N = 8: 28 edges, K = 2) that no test's
    n_trials outlasts the search; with N = 3 the tests that ask for 10 or 20 trials would see the study stopped
    after 5. The relative and multi-objective suites do not apply: AutoShrink's relative proposal covers only
    its own cell encoding, and it is single-objective."""

    @pytest.fixture
    def sampler(self):
        from nasbench_shrink.samplers import AutoShrinkSampler

        return lambda: AutoShrinkSampler(nodes=8, k=2)
