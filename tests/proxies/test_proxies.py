"""Zero-cost proxies against values worked out by hand or by an independent small computation, their
determinism, and the table's proxy columns."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from nasbench_shrink.proxies.measures import (
    fisher,
    grad_norm,
    grasp,
    jacov_of,
    l2_norm,
    nwot,
    nwot_of,
    snip,
    synflow,
    zen,
)


def _linear(seed: int = 0, bias: bool = False) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(4, 3, bias=bias), nn.Linear(3, 2, bias=bias))


def _batch(n: int = 5):
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 1, 2, 2, generator=g), torch.tensor([0, 1, 1, 0, 1][:n])


def test_synflow_of_a_two_layer_linear_net():
    """With |W| and an all-ones input, R = 1ᵀ|W2||W1|1 and each layer's Σ θ·∂R/∂θ equals R: synflow = 2R."""
    model = _linear()
    w1, w2 = model[1].weight.detach().abs().numpy(), model[2].weight.detach().abs().numpy()
    r = float(np.ones(2) @ w2 @ w1 @ np.ones(4))
    x, y = _batch()
    assert synflow(model, x, y) == pytest.approx(2 * r, rel=1e-5)
    assert model[1].weight.min() < 0  # the signs are restored afterwards


def _ce_grad(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """∂ mean CE(W x) / ∂W in closed form: (softmax − one-hot) xᵀ / N."""
    z = x @ w.T
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return p.T @ x / len(y)


def test_snip_grad_norm_and_grasp_of_a_linear_classifier():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2, bias=False))
    x, y = _batch()
    w = model[1].weight.detach().double().numpy()
    xn, yn = x.reshape(len(y), -1).double().numpy(), y.numpy()
    g = _ce_grad(w, xn, yn)
    assert snip(model, x, y) == pytest.approx(float(np.abs(w * g).sum()), rel=1e-5)
    assert grad_norm(model, x, y) == pytest.approx(float(np.sqrt((g * g).sum())), rel=1e-5)
    eps = 1e-4  # H g by central differences of the closed-form gradient
    hg = (_ce_grad(w + eps * g, xn, yn) - _ce_grad(w - eps * g, xn, yn)) / (2 * eps)
    assert grasp(model, x, y) == pytest.approx(float(-(w * hg).sum()), rel=1e-3)


def test_fisher_of_a_one_by_one_convolution():
    torch.manual_seed(0)
    conv, head = nn.Conv2d(1, 2, 1), nn.Linear(8, 2)
    model = nn.Sequential(conv, nn.Flatten(), head)
    x, y = _batch()
    a = conv(x).detach().requires_grad_(True)  # the activation as a leaf: its gradient computed on its own
    nn.functional.cross_entropy(head(a.flatten(1)), y).backward()
    expected = float((0.5 * (a.detach() * a.grad).sum(dim=(2, 3)).pow(2).mean(dim=0)).sum())
    assert fisher(model, x, y) == pytest.approx(expected, rel=1e-5)


def test_naswot_kernel_of_hand_set_activation_patterns():
    codes = torch.tensor([[1, 0, 1], [1, 1, 0]])
    assert nwot_of(codes) == pytest.approx(math.log(3 * 3 - 1 * 1))  # K = [[3, 1], [1, 3]]
    codes = torch.tensor([[1, 0, 1, 1], [0, 0, 1, 1], [1, 1, 1, 0]])
    k = np.array([[4, 3, 2], [3, 4, 1], [2, 1, 4]], dtype=float)
    assert nwot_of(codes) == pytest.approx(math.log(abs(np.linalg.det(k))))
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))  # the hook reads the ReLUs
    x, y = _batch()
    with torch.no_grad():
        pattern = model[2](model[1](model[0](x))) > 0
    assert nwot(model, x, y) == pytest.approx(nwot_of(pattern))


def test_jacobian_covariance_of_hand_set_rows():
    k = 1e-5
    rows = torch.tensor([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]])  # perfectly correlated: eigenvalues 0 and 2
    expected = -((math.log(0 + k) + 1 / (0 + k)) + (math.log(2 + k) + 1 / (2 + k)))
    assert jacov_of(rows, k) == pytest.approx(expected, rel=1e-6)
    rows = torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])  # correlation -1: eigenvalues 0 and 2 again
    assert jacov_of(rows, k) == pytest.approx(expected, rel=1e-6)


def test_zen_and_l2_norm_of_a_small_net():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    x, y = _batch()
    gen = torch.Generator().manual_seed(0)  # the same draws as the proxy: noise, then ε
    noise, eps = torch.randn(x.shape, generator=gen), torch.randn(x.shape, generator=gen)
    with torch.no_grad():
        f = lambda t: torch.relu(model[1](t.flatten(1)))  # noqa: E731 (the features the classifier reads)
        delta = float(torch.linalg.vector_norm(f(noise) - f(noise + 0.01 * eps), dim=1).mean())
    assert zen(model, x, y) == pytest.approx(math.log(delta / 0.01), rel=1e-6)  # no batch norm: no BN term
    expected = math.sqrt(sum(float((p.detach() ** 2).sum()) for p in model.parameters()))
    assert l2_norm(model, x, y) == pytest.approx(expected)


def test_proxies_of_a_cell_are_deterministic_and_count_what_the_table_counts():
    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.proxies import PROXIES, compute_proxies
    from search_spaces import Cell

    bench = get_benchmark("digits-table")
    table = bench.evaluator.table
    key = table.keys[7]
    row = table.row(key, table.seeds[0])
    cell = Cell.from_dict(json.loads(row["cell"]))
    a, b = compute_proxies(cell, bench), compute_proxies(cell, bench)
    assert list(a) == list(PROXIES)
    assert {n: a[n]["value"] for n in a} == {n: b[n]["value"] for n in b}
    assert a["macs"]["value"] == row["macs"] and a["params"]["value"] == row["params"]
    assert all(math.isfinite(v["value"]) and v["seconds"] >= 0 for v in a.values())
    other = compute_proxies(cell, bench, seed=1)
    assert other["snip"]["value"] != a["snip"]["value"]  # another seed: another initialisation and minibatch


def test_a_table_whose_proxy_columns_are_missing_is_refused(tmp_path):
    import pyarrow.parquet as pq

    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.tables.table import META_KEY, TableError, load_table, write_proxies

    bench = get_benchmark("digits-table")
    t = bench.evaluator.table
    values = {k: {"l2_norm": {"value": float(i), "seconds": 0.5}} for i, k in enumerate(t.keys)}
    info = {"names": ["l2_norm"], "batch": 64, "seed": 0}
    write_proxies(bench.evaluator.path, tmp_path / "t.parquet", values, info)
    loaded = load_table(tmp_path / "t.parquet")
    assert loaded.meta["proxies"] == info and loaded.row(t.keys[3], 0)["zc_l2_norm"] == 3.0
    raw = pq.read_table(tmp_path / "t.parquet")
    pq.write_table(raw.drop(["zc_l2_norm"]), tmp_path / "cut.parquet")  # the metadata still lists the column
    with pytest.raises(TableError, match="metadata lists proxy columns it does not hold"):
        load_table(tmp_path / "cut.parquet")
    meta = json.loads(raw.schema.metadata[META_KEY])
    meta["proxies"]["seed"] = 1  # how they were computed is covered by the sha256 too
    pq.write_table(raw.replace_schema_metadata({META_KEY: json.dumps(meta).encode()}), tmp_path / "bad.parquet")
    with pytest.raises(TableError, match="sha256"):
        load_table(tmp_path / "bad.parquet")


def _fake_oracle(calls: list):
    """A proxy that is the number of active edges (ties broken by key), costing 1 s and 10 FLOPs per cell."""

    def score(cell):
        calls.append(cell.key)
        return float(len(cell.active_edges)) + int(cell.key[:4], 16) / 1e6, 1.0, 10.0

    return score


def test_zc_rank_evaluates_in_proxy_order_and_pays_for_scoring():
    import optuna

    from baselines import ZeroCostRankSampler
    from nasbench_shrink.budget import charged
    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.runs.objective import CellObjective

    bench = get_benchmark("digits-table")
    calls: list = []
    sampler = ZeroCostRankSampler("cnn", 5, seed=3, oracle=_fake_oracle(calls), pool=12)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(CellObjective(bench), n_trials=15)
    trials = study.trials
    pool0 = [t for t in trials if t.user_attrs["pool"] == 0]
    values = [t.user_attrs["proxy"] for t in pool0]
    assert values == sorted(values, reverse=True) and len(pool0) == len(sampler._pools[0])
    assert trials[0].user_attrs["proxy_cost_s"] == len(pool0)  # the whole pool's scoring, on its first trial
    first1 = next(t for t in trials if t.user_attrs["pool"] == 1)
    new = {c.key for c, _, _ in sampler._pools[1]} - {c.key for c, _, _ in sampler._pools[0]}
    assert first1.user_attrs["proxy_cost_s"] == len(new)  # a cell scored in an earlier pool is not paid twice
    spent = charged(trials)
    assert spent["seconds"] == pytest.approx(sum(t.user_attrs["cost_s"] for t in trials) + len(pool0) + len(new))
    assert spent["flops"] == pytest.approx(
        sum(t.user_attrs["train_flops"] for t in trials) + 10.0 * (len(pool0) + len(new))
    )
    assert spent["evals"] == sum(not t.user_attrs.get("repeat") for t in trials)  # a proxy is not an evaluation


def test_proxy_screened_autoshrink_trains_the_best_k_of_m():
    import optuna

    from nasbench_shrink.budget import charged
    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.runs.objective import CellObjective
    from nasbench_shrink.samplers.autoshrink import AutoShrinkSampler

    bench = get_benchmark("digits-table")
    calls: list = []
    oracle = _fake_oracle(calls)
    sampler = AutoShrinkSampler("cnn", 5, k=2, seed=0, screen=oracle, screen_m=5)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(CellObjective(bench), n_trials=200)
    traj = sampler.trajectory(study)
    assert traj.done
    for s in traj.steps:
        edges = list(s.cell.pruned().edges)
        import random as _random

        drawn = (
            edges if len(edges) <= 5 else _random.Random(f"autoshrink-screen:0:{s.index}:{s.cell.key}").sample(edges, 5)
        )
        best = sorted(drawn, key=lambda e: -oracle(s.cell.without_edge(e).pruned())[0])[:2]
        assert [c.edge for c in s.candidates] == best  # the K of highest proxy value among the M drawn
    screened = sum(min(5, len(s.cell.pruned().edges)) for s in traj.steps)
    assert charged(study.trials)["seconds"] == pytest.approx(
        sum(t.user_attrs["cost_s"] for t in study.trials) + screened
    )  # every screened cell paid once


def test_the_proxies_command_resumes_and_correlates(tmp_path):
    """On a hand-built 12-architecture table: an architecture already in a part file is not scored again, the
    written table carries every proxy, and --correlate prints the table and draws the figure."""
    from test_objectives import _hand_table
    from typer.testing import CliRunner

    from nasbench_shrink.cli import app
    from nasbench_shrink.proxies import PROXIES
    from nasbench_shrink.runs.proxies import parts_dir
    from nasbench_shrink.tables.table import load_table

    table = tmp_path / "t.parquet"
    _hand_table(table)
    parts = parts_dir(tmp_path / "out.parquet")
    parts.mkdir()
    fake = {n: {"value": -1.0, "seconds": 0.0} for n in PROXIES}
    (parts / "part-0-0.jsonl").write_text(json.dumps({"key": "arch03", **fake}) + "\n" + '{"key": "arch0')  # cut
    runner = CliRunner()
    res = runner.invoke(app, ["proxies", "-b", str(table), "--out", str(tmp_path / "out.parquet"), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["architectures"] == 12 and out["scored_now"] == 11 and not parts.exists()
    t = load_table(tmp_path / "out.parquet")
    assert t.meta["proxies"]["names"] == list(PROXIES) and t.meta["format"] == 4
    assert t.row("arch03", 0)["zc_synflow"] == -1.0 and t.row("arch04", 1)["zc_synflow"] > 0
    assert t.row("arch04", 0)["zc_nwot"] == t.row("arch04", 1)["zc_nwot"]  # one value per architecture
    res = runner.invoke(
        app,
        [
            "proxies",
            "-b",
            str(tmp_path / "out.parquet"),
            "--correlate",
            "--format",
            "md",
            "--figure",
            str(tmp_path / "c.png"),
            "--resamples",
            "20",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "| synflow |" in res.output and "within each edge-count stratum" in res.output
    assert (tmp_path / "c.png").stat().st_size > 10_000
    res = runner.invoke(app, ["proxies", "-b", str(table), "--correlate"])
    assert res.exit_code != 0 and "holds no proxies" in res.output and len(res.output.strip().splitlines()) == 1


@pytest.mark.parametrize("name", ["digits-table", "cifar10-small-table"])
def test_shipped_tables_carry_every_proxy(name):
    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.proxies import BATCH, PROXIES, PROXY_SEED

    table = get_benchmark(name).evaluator.table
    meta = table.meta["proxies"]
    assert meta["names"] == list(PROXIES) and meta["batch"] == BATCH and meta["seed"] == PROXY_SEED
    c = table.columns
    for n in PROXIES:
        assert all(math.isfinite(v) for v in c[f"zc_{n}"]) and min(c[f"zc_{n}_s"]) >= 0
    assert c["zc_macs"] == [float(m) for m in c["macs"]] and c["zc_params"] == [float(p) for p in c["params"]]


def test_a_stored_proxy_is_what_computing_it_again_gives():
    from nasbench_shrink.catalogue import get_benchmark
    from nasbench_shrink.proxies import compute_proxies
    from search_spaces import Cell

    bench = get_benchmark("digits-table")
    table = bench.evaluator.table
    for key in table.keys[::900]:
        row = table.row(key, table.seeds[0])
        again = compute_proxies(Cell.from_dict(json.loads(row["cell"])), bench)
        for n, v in again.items():
            assert v["value"] == pytest.approx(row[f"zc_{n}"], rel=1e-4, abs=1e-9), (key, n)
