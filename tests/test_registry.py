import textwrap

import optuna
import pytest

from helpers import install_fake_distribution

from nasbench_shrink import make_sampler, register_strategy
from nasbench_shrink.errors import UserError
from nasbench_shrink.registry import strategies
from nasbench_shrink.search import SearchSpec, run_search

PLUGIN = textwrap.dedent('''
    from baselines import RandomDAGSampler

    def factory(benchmark, seed=0, nodes=None, **options):
        """Plug-in: random DAGs on three nodes"""
        return RandomDAGSampler(benchmark.space, nodes or 3, seed)
''')


def test_builtins_are_listed():
    names = set(strategies())
    assert {"autoshrink", "complete", "random", "ws", "er", "ba", "evolution", "tpe", "optuna-random"} <= names


def test_register_in_python():
    from baselines import RandomDAGSampler

    register_strategy("tiny-random", lambda benchmark, seed=0, **kw: RandomDAGSampler("cnn", 3, seed),
                      "three-node random DAGs")
    assert strategies()["tiny-random"].description == "three-node random DAGs"
    assert make_sampler("tiny-random", "digits", seed=1).nodes == 3


def test_external_plugin_by_path_and_entry_point(tmp_path, monkeypatch):
    install_fake_distribution(tmp_path, "my_nas_plugin", PLUGIN, "nasbench_shrink.strategies",
                              "plugged = my_nas_plugin:factory")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = strategies()
    assert "plugged" in found and found["plugged"].source == "entry point"
    assert "three nodes" in found["plugged"].description
    assert make_sampler("my_nas_plugin:factory", "digits").nodes == 3
    spec = SearchSpec(strategy="plugged", benchmark="digits", budget_kind="evals", budget=2,
                      storage=f"sqlite:///{tmp_path / 's.db'}", cache=f"sqlite:///{tmp_path / 'c.db'}")
    study = run_search(spec)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 2 and all(t.user_attrs["cell"]["nodes"] == 3 for t in done)


def test_unknown_strategy_is_a_user_error():
    with pytest.raises(UserError, match="unknown strategy"):
        make_sampler("nope")
    with pytest.raises(UserError, match="cannot load"):
        make_sampler("no_such_module:f")
