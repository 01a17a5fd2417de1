import textwrap

import optuna
import pytest
from helpers import install_fake_distribution

from nasbench_shrink import make_sampler, register_strategy, unregister_strategy
from nasbench_shrink.errors import UserError
from nasbench_shrink.runs.search import SearchSpec, run_search
from nasbench_shrink.strategies.registry import strategies


@pytest.fixture
def registered():
    """Names registered by a test, unregistered after it."""
    names: list[str] = []
    yield names
    for name in names:
        unregister_strategy(name)


PLUGIN = textwrap.dedent('''
    from baselines import RandomDAGSampler

    def factory(benchmark, seed=0, nodes=None, **options):
        """Plug-in: random DAGs on three nodes"""
        return RandomDAGSampler(benchmark.space, nodes or 3, seed)
''')


def test_builtins_are_listed():
    names = set(strategies())
    assert {"autoshrink", "complete", "random", "ws", "er", "ba", "evolution", "tpe", "optuna-random"} <= names


def test_register_in_python(registered):
    from baselines import RandomDAGSampler

    registered.append("tiny-random")
    register_strategy(
        "tiny-random", lambda benchmark, seed=0, **kw: RandomDAGSampler("cnn", 3, seed), "three-node random DAGs"
    )
    assert strategies()["tiny-random"].description == "three-node random DAGs"
    assert make_sampler("tiny-random", "digits", seed=1).nodes == 3


def test_external_plugin_by_path_and_entry_point(tmp_path, monkeypatch):
    install_fake_distribution(
        tmp_path, "my_nas_plugin", PLUGIN, "nasbench_shrink.strategies", "plugged = my_nas_plugin:factory"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    found = strategies()
    assert "plugged" in found and found["plugged"].source == "entry point"
    assert "three nodes" in found["plugged"].description
    assert make_sampler("my_nas_plugin:factory", "digits").nodes == 3
    spec = SearchSpec(
        strategy="plugged",
        benchmark="digits",
        budget_kind="evals",
        budget=2,
        storage=f"sqlite:///{tmp_path / 's.db'}",
        cache=f"sqlite:///{tmp_path / 'c.db'}",
    )
    study = run_search(spec)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 2 and all(t.user_attrs["cell"]["nodes"] == 3 for t in done)


def test_a_broken_plugin_is_listed_and_refused_in_one_line_when_asked_for(tmp_path, monkeypatch):
    """An installed plug-in whose import fails does not break the tool; asking for it is refused at once (before
    any run is planned), as a path plug-in that does not load is."""
    from nasbench_shrink.strategies.registry import resolve

    install_fake_distribution(
        tmp_path,
        "broken_nas_plugin",
        "raise ImportError('needs torch_geometric')\n",
        "nasbench_shrink.strategies",
        "broken = broken_nas_plugin:factory",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    found = strategies()
    assert "failed to load" in found["broken"].description and "autoshrink" in found
    with pytest.raises(UserError, match=r"strategy 'broken' failed to load \(needs torch_geometric\); reinstall"):
        resolve("broken")


def test_unknown_strategy_is_a_user_error():
    with pytest.raises(UserError, match="unknown strategy"):
        make_sampler("nope")
    with pytest.raises(UserError, match="cannot load"):
        make_sampler("no_such_module:f")


def test_a_plugin_that_ends_by_itself_needs_no_budget(registered, tmp_path):
    """Plug-ins declare the same traits as built-ins: this one ends by itself, so search takes no budget."""
    from baselines import CompleteDAGSampler

    registered.append("once")
    register_strategy(
        "once",
        lambda benchmark, seed=0, nodes=None, **kw: CompleteDAGSampler(benchmark.space, nodes or 3, seed),
        "the complete DAG, once",
        ends_by_itself=True,
        options=("nodes",),
    )
    spec = SearchSpec(
        strategy="once",
        benchmark="digits",
        nodes=3,
        storage=f"sqlite:///{tmp_path / 's.db'}",
        cache=f"sqlite:///{tmp_path / 'c.db'}",
    )
    study = run_search(spec)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 1 and done[0].user_attrs["edges"] == 3
    # the same strategy without the trait is refused without a budget
    registered.append("once-undeclared")
    register_strategy("once-undeclared", lambda benchmark, seed=0, **kw: CompleteDAGSampler(benchmark.space, 3))
    with pytest.raises(UserError, match="does not finish by itself"):
        run_search(SearchSpec(strategy="once-undeclared", storage=f"sqlite:///{tmp_path / 't.db'}"))


def test_options_reach_only_strategies_that_declare_them():
    assert make_sampler("autoshrink", "digits", nodes=4, k=2).k == 2
    assert make_sampler("complete", "digits", nodes=4, k=2).nodes == 4  # k is not complete's: not passed
    assert make_sampler("ws", "cifar10-proxy", nodes=3).nodes == 16  # graph size is a per-benchmark default
    assert make_sampler("ws", "digits").nodes == 7


def test_no_module_compares_strategy_or_task_names():
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2]
    names = "autoshrink|complete|random|ws|er|ba|evolution|tpe|image|lm"
    pattern = re.compile(r"""(==|!=|\bin\b)\s*\(?["'](""" + names + r""")["']""")
    offenders = [
        f"{p.relative_to(root)}:{n}"
        for pkg in ("nasbench_shrink", "baselines", "search_spaces")
        for p in (root / pkg).glob("*.py")
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_help_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys; from typer.testing import CliRunner; from nasbench_shrink.cli import app; "
        "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output; "
        "print(sorted(m for m in ('torch', 'optuna', 'sqlalchemy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
