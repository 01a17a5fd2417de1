"""Named benchmark presets: data + proxy split + macro network + training recipe + score weight.

A benchmark's *fidelity key* hashes everything that changes a proxy evaluation's result (data, split, macro,
recipe) but not the score weight λ, so re-scoring with another λ reuses cached evaluations.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, replace

from search_spaces import MacroConfig
from nasbench_shrink.errors import BenchmarkError
from nasbench_shrink.splits import SplitSpec
from nasbench_shrink.training import TrainRecipe

WORST_SCORE = -1.0e6  # score of a diverged evaluation: below any real score, finite for JSON and Optuna


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    dataset: str
    split: SplitSpec
    macro: MacroConfig
    recipe: TrainRecipe
    lam: float
    final_macro: MacroConfig
    final_recipe: TrainRecipe
    mean: tuple[float, ...]
    std: tuple[float, ...]
    space: str = "cnn"
    nodes: int = 8  # AutoShrink defaults on this benchmark
    k: int = 10
    paper: dict = field(default_factory=dict, compare=False, hash=False)

    def score(self, accuracy: float, macs: int, lam: float | None = None, diverged: bool = False) -> float:
        """Paper Eq. 5 in the official form: ``acc − λ·(log10(MACs) − 6)``."""
        if diverged or not math.isfinite(accuracy):
            return WORST_SCORE
        w = self.lam if lam is None else lam
        return float(accuracy - w * (math.log10(max(macs, 1)) - 6.0))

    def _hash(self, macro: MacroConfig, recipe: TrainRecipe, stage: str) -> str:
        spec = {"stage": stage, "space": self.space, "dataset": self.dataset, "split": self.split.to_dict(),
                "macro": macro.to_dict(), "recipe": recipe.to_dict(), "mean": self.mean, "std": self.std}
        return hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]

    @property
    def fidelity_key(self) -> str:
        return f"{self.name}:proxy:{self._hash(self.macro, self.recipe, 'proxy')}"

    @property
    def final_fidelity_key(self) -> str:
        return f"{self.name}:final:{self._hash(self.final_macro, self.final_recipe, 'final')}"

    def with_options(self, **changes) -> "Benchmark":
        return replace(self, **changes)


CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)

CIFAR10_PROXY = Benchmark(
    name="cifar10-proxy",
    description="The paper's CNN proxy: CIFAR-10, 500/class train + 100/class val, Adam 4e-3, batch 128, "
                "<=20 epochs with the official early stops, score acc - 0.1*(log10 MACs - 6)",
    dataset="cifar10",
    split=SplitSpec(train_per_class=500, val_per_class=100, seed=0),
    macro=MacroConfig(in_channels=3, input_size=32, num_classes=10),
    recipe=TrainRecipe(),
    lam=0.1,
    final_macro=MacroConfig(in_channels=3, input_size=32, num_classes=10, cells_per_stage=3, residual=True),
    final_recipe=TrainRecipe(optimizer="sgd", lr=0.05, weight_decay=5e-4, batch_size=128, max_epochs=60,
                             schedule="cosine", patience=None, min_acc_epoch=None, overfit_ratio=None,
                             augment=True),
    mean=CIFAR_MEAN,
    std=CIFAR_STD,
    paper={"complete_dag_acc": 91.56, "complete_dag_macs_m": 105.61, "shrinkcnn_acc": 93.22,
           "shrinkcnn_macs_m": 38.20},
)

# Calibrated on this project's 2-core CPU machine; see README "Calibrating digits" and
# benchmarks/calibrate_digits.py. The official overfit stop (val loss > 3x train loss) is off here: with a few
# hundred images it fires at epoch 2 on BatchNorm's unsettled running statistics and turns the proxy into a lottery.
DIGITS = Benchmark(
    name="digits",
    description="CPU default: scikit-learn 8x8 digits, 40/class train + 40/class val (50/class held out), "
                "stem 16, widths 8/16/32, Adam 4e-3, batch 32, <=12 epochs, score acc - 0.12*(log10 MACs - 6)",
    dataset="digits",
    split=SplitSpec(train_per_class=40, val_per_class=40, test_per_class=50, seed=0),
    macro=MacroConfig(in_channels=1, input_size=8, num_classes=10, stem_channels=16, widths=(8, 16, 32)),
    recipe=TrainRecipe(batch_size=32, max_epochs=12, overfit_ratio=None),
    lam=0.12,
    final_macro=MacroConfig(in_channels=1, input_size=8, num_classes=10, stem_channels=16, widths=(8, 16, 32),
                            cells_per_stage=2, residual=True),
    final_recipe=TrainRecipe(batch_size=64, max_epochs=10, schedule="cosine", patience=None, min_acc_epoch=None,
                             overfit_ratio=None, augment=True, flip=False),
    mean=(0.305,),
    std=(0.375,),
    nodes=5,
    k=3,
)

_REGISTRY: dict[str, Benchmark] = {b.name: b for b in (DIGITS, CIFAR10_PROXY)}


def register_benchmark(bench: Benchmark) -> None:
    _REGISTRY[bench.name] = bench


def get_benchmark(name: str) -> Benchmark:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise BenchmarkError(f"unknown benchmark {name!r}; choose one of {', '.join(sorted(_REGISTRY))} "
                             "(see 'nasbench-shrink benchmarks')") from None


def list_benchmarks() -> list[Benchmark]:
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]
