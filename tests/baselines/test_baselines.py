import random
import statistics

import networkx as nx
import optuna
import pytest
from helpers import fake_objective
from optuna.trial import TrialState

from baselines import CompleteDAGSampler, RandomDAGSampler, RandomWiringSampler, RegularizedEvolutionSampler
from baselines.random_wiring import generator_graph, wiring_cell
from nasbench_shrink import make_sampler
from search_spaces import Cell, complete_cell

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _cells(sampler, n=20):
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(fake_objective(sampler.space, sampler.nodes), n_trials=n)
    return study, [Cell.from_dict(t.user_attrs["cell"]) for t in study.trials if t.state == TrialState.COMPLETE]


def test_ws_graphs_keep_degree_k():
    for seed in range(20):
        g = generator_graph("ws", 15, seed)
        assert g.number_of_edges() == 15 * 4 // 2  # rewiring keeps the edge count: mean degree K
    degs = [d for seed in range(20) for _, d in generator_graph("ws", 15, seed).degree()]
    assert statistics.mean(degs) == 4


def test_er_density_matches_p():
    dens = [nx.density(generator_graph("er", 15, s)) for s in range(300)]
    assert abs(statistics.mean(dens) - 0.2) < 0.01


def test_ba_edge_count_and_hubs():
    for seed in range(20):
        g = generator_graph("ba", 15, seed)
        assert g.number_of_edges() == (15 - 5) * 5  # each new node attaches M edges
    maxdeg = statistics.mean(max(d for _, d in generator_graph("ba", 15, s).degree()) for s in range(50))
    assert maxdeg > 2 * 5  # preferential attachment makes hubs well above the mean degree


def test_wiring_cell_orients_edges_and_feeds_sources_from_the_input():
    for kind in ("ws", "er", "ba"):
        cell = wiring_cell(kind, 16, "cnn", random.Random(0))
        assert cell.nodes == 16 and all(i < j for i, j in cell.edges)
        preds = {j for _, j in cell.edges}
        assert preds == set(range(1, 16))  # every generator node has a predecessor (the input if none else)
        assert len(cell.active_nodes) == 16


@pytest.mark.parametrize("kind", ["ws", "er", "ba"])
def test_wiring_sampler_is_deterministic_and_fresh_per_trial(kind):
    _, a = _cells(RandomWiringSampler(kind, "cnn", 10, seed=0), 6)
    _, b = _cells(RandomWiringSampler(kind, "cnn", 10, seed=0), 6)
    _, c = _cells(RandomWiringSampler(kind, "cnn", 10, seed=1), 6)
    assert [x.key for x in a] == [x.key for x in b] != [x.key for x in c]
    assert len({x.key for x in a}) > 1


def test_complete_evaluates_once_then_stops():
    _study, cells = _cells(CompleteDAGSampler("cnn", 6, seed=2), 10)
    assert len(cells) == 1 and cells[0] == complete_cell("cnn", 6, 2)


def test_random_dags_are_sub_dags_with_about_half_the_edges():
    _, cells = _cells(RandomDAGSampler("cnn", 8, seed=0), 60)
    frac = statistics.mean(len(c.edges) / 28 for c in cells)
    assert abs(frac - 0.5) < 0.06
    _, again = _cells(RandomDAGSampler("cnn", 8, seed=0), 60)
    assert [c.key for c in cells] == [c.key for c in again]


def test_regularized_evolution_population_lives_in_the_storage(tmp_path):
    url = f"sqlite:///{tmp_path / 'evo.db'}"
    s = RegularizedEvolutionSampler("cnn", 6, seed=0, population=5, sample=2)
    study = optuna.create_study(direction="maximize", sampler=s, storage=url, study_name="evo")
    study.optimize(fake_objective("cnn", 6), n_trials=12)
    # a fresh sampler object continues from the storage
    resumed = optuna.load_study(
        study_name="evo", storage=url, sampler=RegularizedEvolutionSampler("cnn", 6, seed=0, population=5, sample=2)
    )
    resumed.optimize(fake_objective("cnn", 6), n_trials=8)
    trials = resumed.get_trials(states=(TrialState.COMPLETE,))
    assert all(t.system_attrs["nbs:proposal"]["mutation"] == "random" for t in trials[:5])
    for t in trials[5:]:
        parent_no = t.system_attrs["nbs:proposal"]["parent_trial"]
        window = [x.number for x in trials if x.number < t.number][-5:]
        assert parent_no in window  # the parent came from the aged population
        parent = Cell.from_dict(trials[parent_no].user_attrs["cell"])
        child = Cell.from_dict(t.user_attrs["cell"])
        edge_diff = set(parent.edges) ^ set(child.edges)
        op_diff = sum(a != b for a, b in zip(parent.ops, child.ops))
        assert (len(edge_diff), op_diff) in ((1, 0), (0, 1))  # one edge flipped or one op changed
        assert child.key != parent.key
    ref = optuna.create_study(
        direction="maximize", sampler=RegularizedEvolutionSampler("cnn", 6, seed=0, population=5, sample=2)
    )
    ref.optimize(fake_objective("cnn", 6), n_trials=20)
    assert [t.user_attrs["cell"] for t in ref.trials] == [t.user_attrs["cell"] for t in trials]


@pytest.mark.parametrize("name", ["tpe", "optuna-random"])
def test_optuna_samplers_by_name(name):
    s = make_sampler(name, "digits", seed=0)
    study = optuna.create_study(direction="maximize", sampler=s)
    study.optimize(fake_objective("cnn", 6), n_trials=12)
    assert len(study.trials) == 12
