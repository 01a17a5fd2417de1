import torch

from nasbench_shrink import evaluate
from nasbench_shrink.benchmarks import WORST_SCORE
from nasbench_shrink.benchmarks.datasets import ImageSet
from nasbench_shrink.catalogue import get_benchmark
from nasbench_shrink.evaluation.training import DeviceData, TrainRecipe, augment_batch, train, training_steps
from search_spaces import Cell, MacroConfig, build_cnn

SMALL = Cell("cnn", 3, [(0, 1), (1, 2)], ["input", "conv1x1", "sep3x3"])


def test_proxy_evaluation_is_deterministic_and_complete():
    a = evaluate(SMALL, "digits", seed=0)
    b = evaluate(SMALL, "digits", seed=0)
    assert a.curve == b.curve and a.accuracy == b.accuracy
    assert 0.5 < a.accuracy <= 1.0
    # FLOPs count the examples actually trained on: the official estimator can end an epoch early
    assert a.train_flops == 3 * a.macs * a.trained_examples
    assert 0 < a.trained_examples <= a.train_images * a.epochs
    assert a.epochs == len(a.curve) and all("val_acc" in p for p in a.curve)
    assert a.accuracy == max(p["val_acc"] for p in a.curve)  # Perf = best validation accuracy
    c = evaluate(SMALL, "digits", seed=1)
    assert c.curve != a.curve


def test_diverging_run_is_flagged_not_raised():
    bench = get_benchmark("digits")
    bad = bench.with_options(name="digits-diverge").with_stage(
        "proxy", recipe=TrainRecipe(lr=1e12, batch_size=32, max_epochs=3)
    )
    rec = evaluate(SMALL, bad, seed=0)
    assert rec.diverged and rec.score == WORST_SCORE and rec.stop_reason == "diverged"


def _random_labels(n=256, size=8):
    g = torch.Generator().manual_seed(0)
    return ImageSet(
        torch.randint(0, 255, (n, 1, size, size), generator=g, dtype=torch.uint8),
        torch.randint(0, 10, (n,), generator=g),
        tuple("0123456789"),
    )


def test_official_early_stops():
    data = DeviceData(_random_labels(), torch.device("cpu"), torch.tensor([0.5]), torch.tensor([0.25]))
    cfg = MacroConfig(in_channels=1, input_size=8, widths=(4, 8, 8), stem_channels=4)
    low = train(
        build_cnn(SMALL, cfg),
        data,
        data,
        TrainRecipe(max_epochs=10, min_acc=1.01, patience=None, overfit_ratio=None),
        seed=0,
    )
    assert low.stop_reason == "low_accuracy" and low.epochs == 4  # official: after the 4th epoch
    pat = train(
        build_cnn(SMALL, cfg),
        data,
        data,
        TrainRecipe(max_epochs=30, lr=0.0, patience=2, min_acc_epoch=None, overfit_ratio=None),
        seed=0,
    )
    assert pat.stop_reason == "patience" and pat.epochs == 3  # lr 0: no improvement after epoch 1
    over = train(
        build_cnn(SMALL, cfg),
        data,
        data,
        TrainRecipe(max_epochs=10, overfit_ratio=0.0, patience=None, min_acc_epoch=None),
        seed=0,
    )
    assert over.stop_reason == "overfit" and over.epochs == 1


def test_augmentation_shifts_and_flips_whole_batches():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8)
    g = torch.Generator().manual_seed(0)
    out = augment_batch(x, g)
    assert out.shape == x.shape
    # every output value is either zero padding or a value of the same image and channel
    for n in range(2):
        for c in range(3):
            vals = set(out[n, c].flatten().tolist()) - {0.0}
            assert vals <= set(x[n, c].flatten().tolist())
    assert not torch.equal(out, x)


def test_training_steps_yields_once_per_optimizer_step_and_returns_what_train_returns():
    data = DeviceData(_random_labels(), torch.device("cpu"), torch.tensor([0.5]), torch.tensor([0.25]))
    cfg = MacroConfig(in_channels=1, input_size=8, widths=(4, 8, 8), stem_channels=4)
    recipe = TrainRecipe(
        max_epochs=3, batch_size=64, patience=None, min_acc_epoch=None, overfit_ratio=None, epoch_stop_acc=None
    )
    torch.manual_seed(0)
    whole = train(build_cnn(SMALL, cfg), data, data, recipe, seed=0)
    torch.manual_seed(0)
    steps, yielded = training_steps(build_cnn(SMALL, cfg), data, data, recipe, seed=0), 0
    while True:
        try:
            next(steps)
            yielded += 1
        except StopIteration as done:
            stepped = done.value
            break
    assert yielded == 3 * 4 == sum(p["steps"] for p in stepped.curve)  # 256 images / batch 64, 3 epochs
    assert stepped.curve == [{**p} for p in whole.curve] and stepped.best_val == whole.best_val


def test_quarter_epoch_rungs_leave_the_trained_network_unchanged():
    """Validation inside epochs (rungs for pruners) draws nothing random and trains nothing: the network and its
    curve are bit-identical to a run without rungs, and the rungs are recorded at every quarter epoch."""
    import torch

    from nasbench_shrink.benchmarks import DIGITS
    from nasbench_shrink.evaluation.networks import networks_of
    from nasbench_shrink.evaluation.training import train
    from search_spaces import complete_cell

    nets, fidelity = networks_of(DIGITS), DIGITS.stage("proxy")
    network = nets.network(DIGITS, fidelity)
    results, states = [], []
    for rungs in (1, 4):
        task = nets.training_task(DIGITS, fidelity, None, torch.device("cpu"))
        torch.manual_seed(0)
        model = nets.build(complete_cell("cnn", 5), network)
        results.append(train(model, task, recipe=fidelity.recipe, seed=0, rungs_per_epoch=rungs))
        states.append({k: v.clone() for k, v in model.state_dict().items()})
    plain, rung = results
    assert plain.curve == rung.curve and plain.rungs == []
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert [r["epoch"] for r in rung.rungs][:3] == [0.25, 0.5, 0.75]
    epochs = [r["epoch"] for r in rung.rungs]  # an epoch the moving accuracy ends early has fewer rungs
    assert epochs == sorted(set(epochs)) and all(e % 1 in (0.25, 0.5, 0.75) and e < rung.epochs for e in epochs)
    assert rung.rung_seconds > 0
