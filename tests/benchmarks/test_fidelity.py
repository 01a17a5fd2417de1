"""The official AutoShrink search network, op assignment and estimator (docs/fidelity.md)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
import sqlalchemy as sa
import torch
from torch import nn

from nasbench_shrink.catalogue import get_benchmark
from nasbench_shrink.errors import CacheError
from nasbench_shrink.evaluation.cache import EvaluationCache
from nasbench_shrink.evaluation.training import TrainRecipe, _nonmono_trigger, train
from search_spaces import Cell, balanced_ops, build_cnn, complete_cell, count_resources, initial_ops
from search_spaces.cnn import NodeOp

# leaves 2 and 3; node 1 feeds node 3
CELL = Cell("cnn", 4, [(0, 1), (0, 2), (1, 3)], ["input", "conv1x1", "sep3x3", "conv1x1"])


def _kinds(module: nn.Module) -> list[str]:
    return [type(m).__name__ for m in module.body]


def test_search_cell_is_a_residual_block_with_linear_leaves():
    net = build_cnn(CELL)  # the default macro is the paper's search network
    s1, s2, s3 = net.cells
    # leaves end in BatchNorm (no activation); the inner node keeps its ReLU
    for block in net.cells:
        assert _kinds(block.ops["1"])[-1] == "ReLU"
        assert _kinds(block.ops["2"])[-1] == "BatchNorm2d" and _kinds(block.ops["3"])[-1] == "BatchNorm2d"
    # stage 1: 2 leaves x 16 = 32 channels = the stem's 32, stride 1 -> plain identity add
    assert s1.proj is None
    # down-sampling stages: 1x1 conv + BN on the cell input before pooling, stride 2, no activation after
    for block, cin, cout in ((s2, 32, 64), (s3, 64, 128)):
        conv, bn = block.proj
        assert isinstance(conv, nn.Conv2d) and conv.kernel_size == (1, 1) and conv.stride == (2, 2)
        assert (conv.in_channels, conv.out_channels) == (cin, cout) and isinstance(bn, nn.BatchNorm2d)
    x = torch.randn(2, 3, 32, 32)
    assert net(x).shape == (2, 10)


def test_search_network_macs_from_first_principles():
    r = count_resources(build_cnn(CELL), (3, 32, 32))
    stem = 3 * 32 * 9 * 32 * 32

    def stage(cin: int, w: int, hw: int) -> int:
        node1 = cin * w * hw  # conv1x1 on the cell input
        node2 = cin * 9 * hw + cin * w * hw  # depthwise 3x3 + pointwise 1x1
        node3 = w * w * hw  # conv1x1 on node 1
        return node1 + node2 + node3

    s1 = stage(32, 16, 32 * 32)  # identity residual: no MACs
    s2 = stage(32, 32, 16 * 16) + 32 * 64 * 16 * 16  # projection 32 -> 64 at the output size
    s3 = stage(64, 64, 8 * 8) + 64 * 128 * 8 * 8
    fc = 128 * 10
    assert r.macs == stem + s1 + s2 + s3 + fc


def test_separable_is_the_official_v1_layer_order():
    op = NodeOp("sep3x3", 8, 16, "relu")
    assert _kinds(op) == ["Conv2d", "BatchNorm2d", "ReLU", "Conv2d", "BatchNorm2d", "ReLU"]
    dw, pw = op.body[0], op.body[3]
    assert dw.groups == 8 and dw.kernel_size == (3, 3) and pw.kernel_size == (1, 1) and pw.out_channels == 16
    # as a leaf of a residual cell: the pointwise activation goes, the depthwise one stays
    assert _kinds(NodeOp("sep3x3", 8, 16, "relu", linear=True)) == [
        "Conv2d",
        "BatchNorm2d",
        "ReLU",
        "Conv2d",
        "BatchNorm2d",
    ]
    assert _kinds(NodeOp("sep3x3", 8, 16, "relu", separable="v2")) == ["Conv2d", "Conv2d", "BatchNorm2d", "ReLU"]


def test_op_assignment_mix_is_half_four_three_half_three_four():
    mixes = Counter(balanced_ops("cnn", 8, s).count("sep3x3") for s in range(1000))
    assert set(mixes) == {3, 4}
    assert 440 <= mixes[4] <= 560  # binomial(1000, 1/2): 4 standard deviations
    assert complete_cell("cnn", 8, seed=3).ops == initial_ops("cnn", 8, 3)
    # RNN: independent uniform draws, so unbalanced mixes occur
    rnn = [initial_ops("rnn", 6, s) for s in range(200)]
    assert all(ops[0] == "input" for ops in rnn)
    assert any(max(Counter(ops[1:]).values()) >= 3 for ops in rnn)


class ScriptedTask:
    """A training task whose per-step losses/accuracies and per-epoch validation are given in advance."""

    device = torch.device("cpu")
    metric_name = "val_acc"
    higher_is_better = True
    n_train = 10

    def __init__(self, steps: list[tuple[float, float]], val: list[tuple[float, float]]) -> None:
        self.steps, self.val, self.epoch_no = steps, val, 0
        self.seen_steps: list[int] = []

    def steps_per_epoch(self) -> int:
        return len(self.steps)

    def epoch(self, model, gen):
        count = 0
        for loss, acc in self.steps:
            count += 1
            self.seen_steps.append(count)
            yield (model.w * 0 + loss).sum(), 10, torch.tensor(acc * 10)

    def validate(self, model):
        self.epoch_no += 1
        return self.val[min(self.epoch_no, len(self.val)) - 1]


class _Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))


def _run(task: ScriptedTask, **recipe) -> tuple:
    res = train(_Tiny(), task, recipe=TrainRecipe(**{"max_epochs": 20, **recipe}), seed=0)
    return res.stop_reason, res.epochs


def test_low_accuracy_stop_fires_after_the_fourth_epoch():
    task = ScriptedTask([(1.0, 0.1)] * 3, [(0.15 + 0.001 * i, 1.0) for i in range(20)])
    assert _run(task, overfit_ratio=None) == ("low_accuracy", 4)
    ok = ScriptedTask([(1.0, 0.1)] * 3, [(0.25, 1.0)] * 20)
    assert _run(ok, overfit_ratio=None, patience=None) == ("max_epochs", 20)


def test_patience_counts_epochs_without_a_better_accuracy():
    val = [(0.3, 1.0), (0.4, 1.0)] + [(0.35, 1.0)] * 20
    assert _run(ScriptedTask([(1.0, 0.1)] * 3, val), overfit_ratio=None) == ("patience", 7)


def test_overfit_stop_compares_with_the_moving_training_loss():
    # losses fall within the epoch: mean 1.15, but the 0.99 moving average stays near the first value
    steps = [(2.0 - 0.2 * i, 0.5) for i in range(10)]
    ema = 0.0
    for loss, _ in steps:
        ema = loss if ema == 0 else 0.99 * ema + 0.01 * loss
    below = 3 * ema - 0.1  # above 3 x the epoch mean, below 3 x the moving average: no stop
    assert below > 3 * sum(s[0] for s in steps) / len(steps)
    assert _run(ScriptedTask(steps, [(0.5, below)]), patience=None, max_epochs=3) == ("max_epochs", 3)
    assert _run(ScriptedTask(steps, [(0.5, 3 * ema + 0.1)]), patience=None) == ("overfit", 1)


def test_epoch_ends_once_the_moving_training_accuracy_passes_098():
    task = ScriptedTask([(0.1, 1.0)] * 5, [(0.9, 0.1)])
    train(_Tiny(), task, recipe=TrainRecipe(max_epochs=2, patience=None, overfit_ratio=None), seed=0)
    assert task.seen_steps == [1, 1]  # one step per epoch: the first batch already sits above 0.98
    slow = ScriptedTask([(0.1, 0.5)] * 5, [(0.9, 0.1)])
    train(_Tiny(), slow, recipe=TrainRecipe(max_epochs=1, patience=None, overfit_ratio=None), seed=0)
    assert slow.seen_steps == [1, 2, 3, 4, 5]


def test_lr_drops_after_the_listed_epochs():
    res = train(
        _Tiny(),
        ScriptedTask([(1.0, 0.1)], [(0.5, 1.0)]),
        recipe=TrainRecipe(
            optimizer="sgd",
            lr=20.0,
            momentum=0.0,
            lr_drops=(7, 9),
            max_epochs=10,
            patience=None,
            overfit_ratio=None,
            min_acc_epoch=None,
        ),
        seed=0,
    )
    assert [p["lr"] for p in res.curve] == pytest.approx([20.0] * 7 + [2.0] * 2 + [0.2])


class QuadraticLM:
    """A lower-is-better task on one weight: loss (w - 5)^2, with scripted validation losses."""

    device = torch.device("cpu")
    metric_name = "val_ppl"
    higher_is_better = False
    n_train = 1

    def __init__(self, val_losses: list[float]) -> None:
        self.val_losses, self.i, self.iterates = val_losses, 0, []
        self.model = None

    def steps_per_epoch(self) -> int:
        return 3

    def epoch(self, model, gen):
        self.model = model
        for _ in range(3):
            yield ((model.w - 5.0) ** 2).sum(), 1, None
            # runs after the optimiser step of this loss (the generator resumes there)

    def validate(self, model):
        loss = self.val_losses[min(self.i, len(self.val_losses) - 1)]
        self.i += 1
        return loss, loss


def test_ntasgd_switches_when_validation_stalls_and_averages():
    assert not _nonmono_trigger([5, 4, 3, 3.5], 2) and _nonmono_trigger([5, 4, 3, 3.5, 3.6], 2)
    iterates = []
    model = _Tiny()
    orig = torch.optim.SGD.step

    def step(self, *a, **k):
        out = orig(self, *a, **k)
        iterates.append(model.w.item())
        return out

    torch.optim.SGD.step = step
    try:
        res = train(
            model,
            QuadraticLM([5, 4, 3, 3.5, 3.6, 3.7, 3.8]),
            recipe=TrainRecipe(
                optimizer="ntasgd",
                lr=0.05,
                weight_decay=0.0,
                max_epochs=7,
                nonmono=2,
                patience=None,
                overfit_ratio=None,
                min_acc_epoch=None,
                ema_momentum=None,
                epoch_stop_acc=None,
            ),
            seed=0,
        )
    finally:
        torch.optim.SGD.step = orig
    switched = [p.get("averaged", False) for p in res.curve]
    assert switched == [False] * 5 + [True] * 2  # the switch comes after epoch 5's validation
    # the model ends with the mean of the weights from the switch on (the switch point and 6 later steps)
    tail = iterates[14:]
    assert len(tail) == 7
    assert model.w.item() == pytest.approx(sum(tail) / len(tail), rel=1e-5)
    assert model.w.item() != pytest.approx(iterates[-1], rel=1e-3)


def test_rnn_score_resource_is_edges_times_hidden_squared():
    bench = get_benchmark("ptb-proxy")
    cell = complete_cell("rnn", 6, seed=0)
    assert bench.resource == "cell_weights"
    assert bench.score_resource(cell, macs=123) == 15 * 200**2
    fewer = Cell("rnn", 6, [(0, 1), (1, 2)], cell.ops)
    assert bench.score(60.0, bench.score_resource(fewer, 0)) > bench.score(60.0, bench.score_resource(cell, 0))


def test_network_changes_change_the_fidelity_key():
    bench = get_benchmark("digits")
    old = bench.with_stage("proxy", network=replace(bench.proxy.network, residual=False, separable="v2"))
    assert old.fidelity_key("proxy") != bench.fidelity_key("proxy")
    assert old.fidelity_key("final") == bench.fidelity_key("final")


def test_cache_of_the_old_network_is_refused_in_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    eng = sa.create_engine(url)
    with eng.begin() as conn:
        conn.execute(sa.text("CREATE TABLE nbs_meta (name VARCHAR(64) PRIMARY KEY, value VARCHAR(256) NOT NULL)"))
        conn.execute(sa.text("INSERT INTO nbs_meta VALUES ('schema', '3')"))
    eng.dispose()
    with pytest.raises(CacheError) as err:
        EvaluationCache(url)
    assert "incompatible" in str(err.value) and "\n" not in str(err.value)


def test_final_cifar_network_of_the_complete_dag_matches_the_paper():
    bench = get_benchmark("cifar10-proxy")
    ops = ("input", "conv1x1", "sep3x3", "sep3x3", "sep3x3", "conv1x1", "sep3x3", "conv1x1")
    r = count_resources(build_cnn(complete_cell("cnn", 8, ops=ops), bench.final.network), (3, 32, 32))
    assert bench.final.network.cells_per_stage == 4
    assert abs(r.macs / 1e6 - 105.61) / 105.61 < 1e-3
