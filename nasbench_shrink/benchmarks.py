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
from search_spaces.rnn import RNNConfig
from nasbench_shrink.errors import BenchmarkError
from nasbench_shrink.splits import SplitSpec
from nasbench_shrink.training import TrainRecipe

WORST_SCORE = -1.0e6  # score of a diverged evaluation: below any real score, finite for JSON and Optuna


@dataclass(frozen=True)
class Benchmark:
    """A benchmark preset. ``task`` is ``image`` (CNN cells, accuracy, MACs) or ``lm`` (RNN cells, perplexity,
    parameters); for ``lm`` the data set is a PTB corpus whose files start with ``corpus`` (``final_corpus`` for the
    final evaluation)."""

    name: str
    description: str
    dataset: str
    split: SplitSpec | None
    macro: MacroConfig | RNNConfig
    recipe: TrainRecipe
    lam: float
    final_macro: MacroConfig | RNNConfig
    final_recipe: TrainRecipe
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    space: str = "cnn"
    nodes: int = 8  # AutoShrink defaults on this benchmark
    k: int = 10
    task: str = "image"
    corpus: str | None = None
    final_corpus: str | None = None
    vocab_limit: int | None = None  # lm: keep the most frequent training words, the rest become <unk>
    # CPU threads per evaluation. Float sums differ with the thread count, so a fixed count makes results (and
    # AutoShrink trajectories) identical whatever the number of workers; None: cores / workers.
    cpu_threads: int | None = None
    paper: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def metric(self) -> str:
        return "accuracy" if self.task == "image" else "perplexity"

    @property
    def resource(self) -> str:
        return "macs" if self.task == "image" else "params"

    def score(self, perf: float | None, macs: int, params: int | None = None, lam: float | None = None,
              diverged: bool = False) -> float:
        """Paper Eq. 5 in the official forms: ``acc − λ·(log10(MACs) − 6)`` for images,
        ``(200 − ppl)·0.25 − λ·(log10(params) − 6)`` for language models."""
        if diverged or perf is None or not math.isfinite(perf):
            return WORST_SCORE
        w = self.lam if lam is None else lam
        if self.task == "lm":
            return float((200.0 - perf) * 0.25 - w * (math.log10(max(params or 1, 1)) - 6.0))
        return float(perf - w * (math.log10(max(macs, 1)) - 6.0))

    def _hash(self, macro, recipe: TrainRecipe, stage: str) -> str:
        corpus = self.corpus if stage == "proxy" else self.final_corpus
        spec = {"stage": stage, "space": self.space, "dataset": self.dataset, "task": self.task, "corpus": corpus,
                "vocab_limit": self.vocab_limit, "cpu_threads": self.cpu_threads,
                "split": self.split.to_dict() if self.split else None,
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
                "stem 16, widths 8/16/32, Adam 4e-3, batch 32, <=8 epochs, score acc - 0.15*(log10 MACs - 6)",
    dataset="digits",
    split=SplitSpec(train_per_class=40, val_per_class=40, test_per_class=50, seed=0),
    macro=MacroConfig(in_channels=1, input_size=8, num_classes=10, stem_channels=16, widths=(8, 16, 32)),
    recipe=TrainRecipe(batch_size=32, max_epochs=8, overfit_ratio=None),
    lam=0.15,
    final_macro=MacroConfig(in_channels=1, input_size=8, num_classes=10, stem_channels=16, widths=(8, 16, 32),
                            cells_per_stage=2, residual=True),
    final_recipe=TrainRecipe(batch_size=64, max_epochs=10, schedule="cosine", patience=None, min_acc_epoch=None,
                             overfit_ratio=None, augment=True, flip=False),
    mean=(0.305,),
    std=(0.375,),
    nodes=5,
    k=3,
    cpu_threads=1,  # a digits step gains little from a second thread (8.1 vs 9.2 ms), and results stay comparable
)

# The paper's RNN search setting (§4.2): the 4,000-sentence PTB proxy, N = 6, K = 5, embedding = hidden = 200,
# about 10 epochs, Perf = validation perplexity, resource = parameters, official score weight 1. The optimiser
# follows the DARTS search recipe the paper builds on (SGD lr 20, clip 0.25, bptt 35). Final: full PTB.
PTB_PROXY = Benchmark(
    name="ptb-proxy",
    description="The paper's RNN proxy: 4,000 PTB sentences, emb = hid = 200, SGD lr 20, clip 0.25, batch 64, "
                "bptt 35, <=10 epochs, score (200 - ppl)*0.25 - (log10 params - 6)",
    dataset="ptb", split=None,
    macro=RNNConfig(emb_size=200, hidden_size=200),
    recipe=TrainRecipe(optimizer="sgd", lr=20.0, momentum=0.0, weight_decay=5e-7, batch_size=64, max_epochs=10,
                       patience=3, min_acc_epoch=None, overfit_ratio=None, clip_grad=0.25, bptt=35),
    lam=1.0,
    final_macro=RNNConfig(emb_size=200, hidden_size=200, dropout_emb=0.1, dropout_in=0.2, dropout_hidden=0.25,
                          dropout_out=0.25),
    final_recipe=TrainRecipe(optimizer="asgd", lr=20.0, weight_decay=8e-7, batch_size=64, max_epochs=100,
                             patience=None, min_acc_epoch=None, overfit_ratio=None, clip_grad=0.25, bptt=35),
    space="rnn", nodes=6, k=5, task="lm", corpus="proxy", final_corpus="ptb",
    paper={"complete_dag_ppl": 63.1, "shrinkrnn_ppl": 56.5, "complete_params_m": 3.37, "shrunk_params_m": 2.8},
)

# CPU-sized RNN preset: the same proxy corpus with its 2,000 most frequent words, a 64-wide cell, 3 epochs.
PTB_TINY = Benchmark(
    name="ptb-tiny",
    description="CPU RNN preset: PTB proxy corpus (2,000-word vocabulary), emb = hid = 64, SGD lr 20, clip 0.25, "
                "batch 32, bptt 20, "
                "<=3 epochs, score (200 - ppl)*0.25 - (log10 params - 6)",
    dataset="ptb", split=None,
    macro=RNNConfig(emb_size=64, hidden_size=64),
    recipe=TrainRecipe(optimizer="sgd", lr=20.0, momentum=0.0, weight_decay=5e-7, batch_size=32, max_epochs=3,
                       patience=None, min_acc_epoch=None, overfit_ratio=None, clip_grad=0.25, bptt=20),
    lam=1.0,
    final_macro=RNNConfig(emb_size=64, hidden_size=64, dropout_emb=0.1, dropout_in=0.2, dropout_hidden=0.1,
                          dropout_out=0.2),
    final_recipe=TrainRecipe(optimizer="sgd", lr=20.0, momentum=0.0, weight_decay=8e-7, batch_size=32,
                             max_epochs=8, schedule="cosine", patience=None, min_acc_epoch=None, overfit_ratio=None,
                             clip_grad=0.25, bptt=20),
    space="rnn", nodes=5, k=3, task="lm", corpus="proxy", final_corpus="proxy", vocab_limit=2000,
)

_REGISTRY: dict[str, Benchmark] = {b.name: b for b in (DIGITS, CIFAR10_PROXY, PTB_PROXY, PTB_TINY)}


def register_benchmark(bench: Benchmark) -> None:
    _REGISTRY[bench.name] = bench


BENCHMARK_ENTRY_POINTS = "nasbench_shrink.benchmarks"


def _load_entry_points() -> None:
    """Benchmarks from installed packages (entry-point group ``nasbench_shrink.benchmarks``, each a Benchmark)."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=BENCHMARK_ENTRY_POINTS):
        if ep.name in _REGISTRY:
            continue
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plug-in must not break the tool
            raise BenchmarkError(f"benchmark plug-in {ep.name!r} failed to load ({exc}); reinstall its package")
        if isinstance(obj, Benchmark):
            _REGISTRY[ep.name] = obj if obj.name == ep.name else replace(obj, name=ep.name)


def get_benchmark(name: str) -> Benchmark:
    if name not in _REGISTRY:
        _load_entry_points()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise BenchmarkError(f"unknown benchmark {name!r}; choose one of {', '.join(sorted(_REGISTRY))} "
                             "(see 'nasbench-shrink benchmarks')") from None


def list_benchmarks() -> list[Benchmark]:
    _load_entry_points()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]
