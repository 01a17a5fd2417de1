"""How a network is trained: optimiser, schedule, early stops and augmentation, as one hashable value.

Torch-free, so benchmark definitions can be read without importing torch.

Example:
    >>> from nasbench_shrink.benchmarks.recipe import TrainRecipe
    >>> TrainRecipe().min_acc_epoch  # the official low-accuracy stop, after the 4th epoch
    4
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["TrainRecipe"]


@dataclass(frozen=True)
class TrainRecipe:
    """Optimiser, schedule, stopping rules and augmentation. Defaults are the official CIFAR-10 proxy
    (``searching/cnn/proxy_estimator.py`` and ``solver/cifar10_proxy.solver`` of the official code)."""

    optimizer: str = "adam"  # adam | sgd | ntasgd (SGD, then iterate averaging once validation stalls)
    lr: float = 4e-3
    momentum: float = 0.9
    weight_decay: float = 1e-5  # the official L2 strength, applied as coupled weight decay
    batch_size: int = 128
    max_epochs: int = 20
    schedule: str = "constant"  # constant | cosine
    lr_drops: tuple[int, ...] = ()  # divide the learning rate by 10 after each of these (1-based) epochs
    patience: int | None = 5  # stop after this many epochs without a better validation value
    min_acc_epoch: int | None = 4  # stop after this (1-based) epoch if validation accuracy is below min_acc
    min_acc: float = 0.2
    overfit_ratio: float | None = 3.0  # stop when validation loss > ratio x (moving) training loss
    ema_momentum: float | None = 0.99  # per-step moving average of the training loss/accuracy, reset each epoch
    epoch_stop_acc: float | None = 0.98  # end an epoch early once the moving training accuracy exceeds this
    nonmono: int = 5  # ntasgd: switch to averaging when validation is worse than the best of all but the last N
    augment: bool = False  # random crop (pad 4 / pad 1 for small inputs) and horizontal flip
    flip: bool = True
    label_smoothing: float = 0.0
    clip_grad: float | None = None  # gradient-norm clipping (language models)
    bptt: int = 35  # truncated back-propagation length (language models)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["lr_drops"] = list(self.lr_drops)
        return d
