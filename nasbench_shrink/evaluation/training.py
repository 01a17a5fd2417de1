"""The one training loop, shared by proxy evaluation, final evaluation and the GPU path.

Data stays as whole device tensors (``uint8``); each batch is indexed, converted, normalised and augmented as a
tensor, so there is no DataLoader and no per-sample Python. Losses and correct counts accumulate on the device and
are read once per epoch, so there are no per-step host syncs. On CUDA it uses bf16 autocast (BatchNorm stays fp32).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from nasbench_shrink.benchmarks.datasets import ImageSet
from nasbench_shrink.benchmarks.recipe import TrainRecipe

__all__ = ["DeviceData", "ImageTask", "IterateAverage", "TrainRecipe", "TrainResult", "evaluate_model", "train"]


@dataclass
class TrainResult:
    best_val: float
    final_val: float
    epochs: int
    diverged: bool
    stop_reason: str
    seconds: float
    curve: list[dict] = field(default_factory=list)
    examples: int = 0  # training examples (images, tokens) actually processed: epochs can end early
    # validation inside epochs (``rungs_per_epoch``): [{"epoch": 0.25, "val_acc": ..., "val_loss": ...}, ...]; the
    # end of each epoch is the curve's own point. Measured outside ``seconds`` (it is not part of the charged cost)
    rungs: list[dict] = field(default_factory=list)
    rung_seconds: float = 0.0


def mixed_precision(device: torch.device, enabled: bool = True):
    """bf16 autocast on CUDA (BatchNorm and the loss stay fp32) unless ``enabled`` is False; nothing on CPU."""
    if device.type == "cuda" and enabled:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def pick_device(device: str | None = None) -> torch.device:
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def set_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads explicitly (env ``NASBENCH_SHRINK_THREADS``, else all cores)."""
    n = threads or int(os.environ.get("NASBENCH_SHRINK_THREADS", "0") or 0) or (os.cpu_count() or 1)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


class DeviceData:
    """An image set on the device with its normalisation constants: batches come out as normalised floats."""

    def __init__(
        self, data: ImageSet, device: torch.device, mean: torch.Tensor, std: torch.Tensor, channels_last: bool = False
    ) -> None:
        self.x = data.x.to(device, non_blocking=True)
        self.y = data.y.to(device, non_blocking=True)
        self.n = int(self.y.shape[0])
        self.device = device
        self.scale = (1.0 / (255.0 * std)).view(1, -1, 1, 1).to(device)
        self.shift = (mean / std).view(1, -1, 1, 1).to(device)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.bf16 = True  # bf16 autocast on CUDA; False trains and evaluates in fp32 (the agreement check)

    def batch(
        self, idx: torch.Tensor, augment: bool = False, flip: bool = True, gen: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.x[idx].float().mul_(self.scale).sub_(self.shift)
        if augment:
            x = augment_batch(x, gen, flip)
        return x.contiguous(memory_format=self.memory_format), self.y[idx]


def augment_batch(x: torch.Tensor, gen: torch.Generator | None, flip: bool = True) -> torch.Tensor:
    """Random translation (zero padding, pad = size/8) and horizontal flip of a whole batch at once."""
    n, _, h, w = x.shape
    pad = max(1, h // 8)
    padded = F.pad(x, (pad, pad, pad, pad))
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen, device="cpu").to(x.device)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen, device="cpu").to(x.device)
    rows = torch.arange(h, device=x.device).view(1, h) + dy.view(n, 1)  # n,h
    cols = torch.arange(w, device=x.device).view(1, w) + dx.view(n, 1)  # n,w
    if flip:
        flips = torch.rand(n, generator=gen, device="cpu").to(x.device) < 0.5
        cols = torch.where(flips.view(n, 1), cols.flip(1), cols)
    bidx = torch.arange(n, device=x.device).view(n, 1, 1)
    out = padded.permute(0, 2, 3, 1)[bidx, rows.view(n, h, 1), cols.view(n, 1, w)]  # n,h,w,c
    return out.permute(0, 3, 1, 2)


def _optimizer(model: nn.Module, recipe: TrainRecipe) -> torch.optim.Optimizer:
    if recipe.optimizer == "adam":  # fused: one kernel for all parameters (about 12% faster per step on CPU here)
        return torch.optim.Adam(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay, fused=True)
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(),
            lr=recipe.lr,
            momentum=recipe.momentum,
            weight_decay=recipe.weight_decay,
            nesterov=recipe.momentum > 0,
        )
    if recipe.optimizer == "ntasgd":  # plain SGD steps; the averaging is IterateAverage's (NT-ASGD's switch)
        return torch.optim.SGD(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    raise ValueError(f"unknown optimizer {recipe.optimizer!r}")


class IterateAverage:
    """NT-ASGD's averaging (Merity et al. 2018): once switched on, a running mean of the weights after every
    step. Equal to ASGD with t0 = 0 and no decay, started at the switch; ``swapped()`` evaluates with the mean."""

    def __init__(self, model: nn.Module) -> None:
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.mean = [p.detach().clone() for p in self.params]
        self.count = 1

    @torch.no_grad()
    def update(self) -> None:
        self.count += 1
        torch._foreach_lerp_(self.mean, [p.detach() for p in self.params], 1.0 / self.count)

    @torch.no_grad()
    def _swap(self) -> None:
        for p, m in zip(self.params, self.mean):
            tmp = p.detach().clone()
            p.copy_(m)
            m.copy_(tmp)

    @contextlib.contextmanager
    def swapped(self):
        self._swap()
        try:
            yield
        finally:
            self._swap()

    @torch.no_grad()
    def commit(self) -> None:
        """Leave the averaged weights in the model (the end of training)."""
        for p, m in zip(self.params, self.mean):
            p.copy_(m)


def _nonmono_trigger(val_losses: list[float], nonmono: int) -> bool:
    """NT-ASGD's switch: the newest validation loss is worse than the best of all but the last ``nonmono``."""
    return len(val_losses) > nonmono and val_losses[-1] > min(val_losses[:-nonmono])


@torch.no_grad()
def evaluate_model(model: nn.Module, data: DeviceData, batch_size: int = 1024) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of ``model`` on ``data``."""
    model.eval()
    correct = torch.zeros((), device=data.device)
    loss = torch.zeros((), device=data.device)
    for start in range(0, data.n, batch_size):
        idx = torch.arange(start, min(start + batch_size, data.n), device=data.device)
        x, y = data.batch(idx)
        with mixed_precision(data.device, data.bf16):
            out = model(x)
        out = out.float()
        loss += F.cross_entropy(out, y, reduction="sum")
        correct += (out.argmax(1) == y).sum()
    model.train()
    return (correct / max(data.n, 1)).item(), (loss / max(data.n, 1)).item()


class ImageTask:
    """Classification on device tensors: shuffled batches, batched augmentation, accuracy on the validation set."""

    metric_name = "val_acc"
    higher_is_better = True

    def __init__(self, train_data: DeviceData, val_data: DeviceData | None, recipe: TrainRecipe) -> None:
        self.train_data, self.val_data, self.recipe = train_data, val_data, recipe
        self.device = train_data.device
        self.memory_format = train_data.memory_format
        self.n_train = train_data.n

    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(self.n_train / self.recipe.batch_size))

    def epoch(self, model: nn.Module, gen: torch.Generator):
        """Yield (loss, examples, correct predictions) for every training step of one epoch."""
        bs = self.recipe.batch_size
        perm = torch.randperm(self.n_train, generator=gen).to(self.device)
        for s in range(self.steps_per_epoch()):
            idx = perm[s * bs : (s + 1) * bs]
            x, y = self.train_data.batch(idx, self.recipe.augment, self.recipe.flip, gen)
            with mixed_precision(self.device, self.train_data.bf16):
                out = model(x)
            out = out.float()
            correct = (out.detach().argmax(1) == y).sum()
            yield F.cross_entropy(out, y, label_smoothing=self.recipe.label_smoothing), idx.numel(), correct

    def validate(self, model: nn.Module) -> tuple[float, float] | None:
        return None if self.val_data is None else evaluate_model(model, self.val_data)


def train(
    model: nn.Module,
    train_data,
    val_data: DeviceData | None = None,
    recipe: TrainRecipe = TrainRecipe(),
    seed: int = 0,
    rungs_per_epoch: int = 1,
    on_epoch: Callable[[dict], bool] | None = None,
) -> TrainResult:
    """Train ``model`` with ``recipe`` on a task (``ImageTask`` or any object with the same methods; a
    ``DeviceData`` pair is wrapped in an ``ImageTask``). Early-stopping rules read the validation metric each epoch.

    The stops follow the official proxy estimator, checked in its order after each epoch's validation:
    ``patience`` epochs without a better value; after epoch ``min_acc_epoch`` a validation accuracy below
    ``min_acc``; a validation loss above ``overfit_ratio`` × the training loss (its per-step moving average when
    ``ema_momentum`` is set). An epoch ends early once the moving training accuracy passes ``epoch_stop_acc``.
    A non-finite training or validation loss ends the run with ``diverged=True`` instead of raising.

    ``on_epoch(point)`` is told each epoch's curve point after those stops, except the last epoch's; when it returns
    True the run stops there (``stop_reason = "pruned"``: a pruner's decision, the cost being what was trained).
    """
    steps = training_steps(model, train_data, val_data, recipe, seed, rungs_per_epoch, on_epoch)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def training_steps(
    model: nn.Module,
    train_data,
    val_data: DeviceData | None = None,
    recipe: TrainRecipe = TrainRecipe(),
    seed: int = 0,
    rungs_per_epoch: int = 1,
    on_epoch: Callable[[dict], bool] | None = None,
) -> Generator[None, None, TrainResult]:
    """``train`` one optimizer step at a time: yields after every step and returns the ``TrainResult``.

    ``train`` runs it to the end; the performance harness steps it in lockstep with a bare loop in one thread, so
    that machine drift falls on both loops alike.

    ``rungs_per_epoch`` = R > 1 also validates after every 1/R of an epoch's steps (pruners' rungs): evaluation
    mode, no gradient, no random draw, so the trained network is the one trained without them (a test pins it);
    its time is kept out of ``seconds`` and reported as ``rung_seconds``."""
    task = train_data if hasattr(train_data, "epoch") else ImageTask(train_data, val_data, recipe)
    device = task.device
    higher = task.higher_is_better
    gen = torch.Generator(device="cpu").manual_seed(seed)
    model.to(device=device, memory_format=getattr(task, "memory_format", torch.contiguous_format))
    model.train()
    opt = _optimizer(model, recipe)
    sched = None
    if recipe.schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=recipe.max_epochs * task.steps_per_epoch())
    clip = getattr(recipe, "clip_grad", None)
    ema_m = recipe.ema_momentum
    start = time.perf_counter()
    # the official estimators start from 0 accuracy / an unreachably high loss: a first epoch at 0 is no gain
    best = 0.0 if higher else math.inf
    last, best_epoch = best, 0
    val_losses: list[float] = []
    average: IterateAverage | None = None
    curve: list[dict] = []
    stop_reason, diverged, epoch, examples = "max_epochs", False, 0, 0
    rungs: list[dict] = []
    rung_seconds = 0.0
    per_epoch = task.steps_per_epoch()
    rung_steps = {math.ceil(r * per_epoch / rungs_per_epoch): r for r in range(1, max(rungs_per_epoch, 1))}
    rung_steps.pop(per_epoch, None)  # the end of the epoch is validated anyway
    for epoch in range(1, recipe.max_epochs + 1):
        loss_sum = torch.zeros((), device=device)
        ema_loss = torch.zeros((), device=device)
        ema_acc = torch.zeros((), device=device)
        seen = steps = 0
        for loss, n, correct in task.epoch(model, gen):
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if clip:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            if sched is not None:
                sched.step()
            if average is not None:
                average.update()
            loss_d = loss.detach()
            loss_sum += loss_d * n
            seen += n
            steps += 1
            if ema_m is not None:  # official: a zero average restarts from the current value
                ema_loss = torch.where(ema_loss == 0, loss_d, ema_m * ema_loss + (1 - ema_m) * loss_d)
                if correct is not None:
                    acc = correct / n
                    ema_acc = torch.where(ema_acc == 0, acc, ema_m * ema_acc + (1 - ema_m) * acc)
                    if recipe.epoch_stop_acc is not None and ema_acc.item() > recipe.epoch_stop_acc:
                        break
            if steps in rung_steps:
                t_rung = time.perf_counter()
                with average.swapped() if average is not None else contextlib.nullcontext():
                    rung_val = task.validate(model)
                if rung_val is not None:
                    rungs.append(
                        {
                            "epoch": epoch - 1 + rung_steps[steps] / rungs_per_epoch,
                            task.metric_name: rung_val[0],
                            "val_loss": rung_val[1],
                        }
                    )
                rung_seconds += time.perf_counter() - t_rung
            yield
        examples += seen
        train_loss = (loss_sum / max(seen, 1)).item()
        point = {"epoch": epoch, "train_loss": train_loss, "steps": steps, "lr": opt.param_groups[0]["lr"]}
        ref_loss = train_loss
        if ema_m is not None:
            ref_loss = ema_loss.item()
            point["train_loss_ema"] = ref_loss
        if not math.isfinite(train_loss):
            diverged, stop_reason = True, "diverged"
            curve.append(point)
            break
        with average.swapped() if average is not None else contextlib.nullcontext():
            val = task.validate(model)
        if val is not None:
            metric, val_loss = val
            point.update({task.metric_name: metric, "val_loss": val_loss})
            last = metric
            if (metric > best) if higher else (metric < best):
                best, best_epoch = metric, epoch
        if average is not None:
            point["averaged"] = True
        curve.append(point)
        if epoch in recipe.lr_drops:
            for group in opt.param_groups:
                group["lr"] /= 10.0
        if val is None:
            continue
        if not math.isfinite(point["val_loss"]):
            diverged, stop_reason = True, "diverged"
            break
        val_losses.append(point["val_loss"])
        if recipe.optimizer == "ntasgd" and average is None and _nonmono_trigger(val_losses, recipe.nonmono):
            average = IterateAverage(model)
        if recipe.patience is not None and epoch - best_epoch >= recipe.patience:
            stop_reason = "patience"
            break
        if higher and recipe.min_acc_epoch is not None and epoch == recipe.min_acc_epoch and last < recipe.min_acc:
            stop_reason = "low_accuracy"
            break
        if recipe.overfit_ratio is not None and point["val_loss"] > recipe.overfit_ratio * ref_loss:
            stop_reason = "overfit"
            break
        if on_epoch is not None and epoch < recipe.max_epochs and on_epoch(point):
            stop_reason = "pruned"
            break
    if average is not None:
        average.commit()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    if not math.isfinite(best):
        best = 0.0 if higher else math.inf
    if not math.isfinite(last):
        last = best
    return TrainResult(
        best_val=best,
        final_val=last,
        epochs=epoch,
        diverged=diverged,
        stop_reason=stop_reason,
        seconds=time.perf_counter() - start - rung_seconds,
        curve=curve,
        examples=examples,
        rungs=rungs,
        rung_seconds=rung_seconds,
    )
