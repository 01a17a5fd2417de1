"""Named benchmark presets: data + split + a proxy and a final ``Fidelity`` + the task kind + the score weight.

A benchmark's *fidelity key* (one per stage) hashes everything that changes an evaluation's result (data, split,
network, recipe) but not the score weight λ, so re-scoring with another λ reuses cached evaluations. What differs
between image classification and language modelling (data, networks, metric, resource, score) is the task kind's
(``nasbench_shrink.benchmarks.tasks``); a benchmark only names its kind.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from nasbench_shrink.benchmarks.fidelity import STAGES, Fidelity
from nasbench_shrink.benchmarks.recipe import TrainRecipe
from nasbench_shrink.benchmarks.splits import SplitSpec
from nasbench_shrink.benchmarks.tasks import TaskKind, task_kind
from nasbench_shrink.errors import BenchmarkError
from search_spaces.configs import MacroConfig, RNNConfig

__all__ = ["PRESETS", "WORST_SCORE", "Answerer", "Benchmark"]

WORST_SCORE = -1.0e6  # score of a diverged evaluation: below any real score, finite for JSON and Optuna


class Answerer(Protocol):
    """What a benchmark knows of the evaluator that answers it instead of live training (``evaluation.Evaluator``
    implements it; a table's lookup is one): a benchmark is data, so it names no evaluator class."""

    instant: bool  # answers in microseconds, without training
    default_seeds: int | None  # seeds a comparison runs by default on it (None: as many as power asks)
    table: Any  # the table it answers from (``tables.Table``), or None
    predicts: bool  # its answers are a fitted model's predictions, which training live can check

    def describe(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Benchmark:
    """A benchmark preset.

    Args:
        name: Preset name (``-b NAME``).
        description: One line for ``nasbench-shrink benchmarks``.
        dataset: ``digits``, ``cifar10`` or ``ptb``.
        split: Per-class proxy/final split of an image data set (``None`` for language models).
        proxy: The search-time stage (network, recipe, data).
        final: The final-training stage.
        lam: λ of the score (Eq. 5).
        task: The task kind, a key of ``nasbench_shrink.benchmarks.tasks.TASKS`` (``image`` or ``lm``).
        evaluator: How evaluations are answered; ``None`` trains live (a table benchmark answers from a file).

    Example:
        >>> from nasbench_shrink.benchmarks import DIGITS
        >>> b = DIGITS
        >>> b.metric, b.stage("final").scored_on
        ('accuracy', 'test')
    """

    name: str
    description: str
    dataset: str
    split: SplitSpec | None
    proxy: Fidelity
    final: Fidelity
    lam: float
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    space: str = "cnn"
    nodes: int = 8  # AutoShrink defaults on this benchmark
    k: int = 10
    random_graph_nodes: int | None = None  # cell nodes of the random-wiring baselines (default: nodes + 2)
    task: str = "image"
    vocab_limit: int | None = None  # lm: keep the most frequent words, the rest become <unk>
    vocab_from: str = "train"  # lm: vocabulary from the training file or from all three (official search corpus)
    # CPU threads per evaluation. Float sums differ with the thread count, so a fixed count makes results (and
    # AutoShrink trajectories) identical whatever the number of workers; None: cores / workers.
    cpu_threads: int | None = None
    paper_setting: bool = False  # the paper's own proxy data: its absolute numbers compare with ours
    evaluator: Answerer | None = field(default=None, compare=False, hash=False)
    # fidelity keys by stage, computed once: a table query asks for one on every lookup
    _keys: dict = field(default_factory=dict, init=False, compare=False, hash=False, repr=False)

    @property
    def kind(self) -> TaskKind:
        """The task kind that knows this benchmark's metric, its direction and its score."""
        return task_kind(self.task)

    def stage(self, name: str) -> Fidelity:
        if name not in STAGES:
            raise BenchmarkError(f"unknown stage {name!r}; expected one of {STAGES}")
        return self.proxy if name == STAGES[0] else self.final

    @property
    def default_seeds(self) -> int | None:
        """Seeds a comparison runs by default: a few where evaluations train; None where they are lookups, whose
        default is as many as the paired test needs to detect a small effect (``analysis.stats.seeds_for_power``,
        chosen by the command for its number of comparisons)."""
        return self.evaluator.default_seeds if self.evaluator is not None else 3

    @property
    def table(self) -> Any:
        """The table this benchmark answers from (``tables.Table``), or ``None`` (live training, a surrogate)."""
        return None if self.evaluator is None else self.evaluator.table

    @property
    def instant(self) -> bool:
        """Whether evaluations are lookups (a table): searches then run in memory and are stored when done."""
        return self.evaluator is not None and self.evaluator.instant

    @property
    def wiring_nodes(self) -> int:
        """Cell nodes of the random-wiring baselines' graphs on this benchmark."""
        return self.random_graph_nodes or self.nodes + 2

    @property
    def metric(self) -> str:
        return self.kind.metric

    @property
    def resource(self) -> str:
        """What the score's resource term counts (``macs``, or ``cell_weights`` = active edges × H²)."""
        return self.kind.resource

    def score_resource(self, cell, macs: int) -> int:
        """The score's resource for ``cell`` whose network has ``macs`` forward MACs."""
        return self.kind.score_resource(self, cell, macs)

    def score(self, perf: float | None, resource: int, lam: float | None = None, diverged: bool = False) -> float:
        """Paper Eq. 5 in the official form of the task kind; ``WORST_SCORE`` for a diverged run."""
        import math

        if diverged or perf is None or not math.isfinite(perf):
            return WORST_SCORE
        return self.kind.score(perf, resource, self.lam if lam is None else lam)

    def fidelity_key(self, stage: str = "proxy") -> str:
        """The cache's key for everything that fixes a ``stage`` evaluation's result (a frozen preset: computed
        once per stage)."""
        known = self._keys.get(stage)
        if known is not None:
            return known
        fid = self.stage(stage)
        spec = {
            "stage": stage,
            "space": self.space,
            "dataset": self.dataset,
            "task": self.task,
            "corpus": fid.corpus,
            "vocab_limit": self.vocab_limit,
            "vocab_from": self.vocab_from,
            "cpu_threads": self.cpu_threads,
            "split": self.split.to_dict() if self.split else None,
            "macro": fid.network.to_dict(),
            "recipe": fid.recipe.to_dict(),
            "mean": self.mean,
            "std": self.std,
        }
        digest = hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
        self._keys[stage] = key = f"{self.name}:{stage}:{digest}"
        return key

    def with_options(self, **changes: Any) -> Benchmark:
        return replace(self, **changes)

    def with_stage(self, stage: str, **changes: Any) -> Benchmark:
        """This benchmark with one stage's network/recipe/data changed (its fidelity key changes with it)."""
        return replace(self, **{stage: replace(self.stage(stage), **changes)})


CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)

# Final training stages train to the end of their schedule: no early stops, no early epoch ends.
_NO_STOPS = dict(patience=None, min_acc_epoch=None, overfit_ratio=None, ema_momentum=None, epoch_stop_acc=None)

# The paper's CNN proxy (§4.1) with the official search network and estimator (docs/fidelity.md). Final stage:
# T = 4 cells per stage — the only T at which the complete N = 8 DAG reaches the paper's 105.61 M MACs
# (105.60 M for 4 sep3x3 + 3 conv1x1; T = 3 gives at most 90.1 M) — trained with a recipe of our own (the paper
# and the official repository give none for CIFAR-10).
CIFAR10_PROXY = Benchmark(
    name="cifar10-proxy",
    description="The paper's CNN proxy: CIFAR-10, 500/class train + 100/class val, official residual search "
    "network, Adam 4e-3, batch 128, <=20 epochs with the official early stops, "
    "score acc - 0.1*(log10 MACs - 6)",
    dataset="cifar10",
    split=SplitSpec(train_per_class=500, val_per_class=100, seed=0),
    proxy=Fidelity(MacroConfig(in_channels=3, input_size=32, num_classes=10), TrainRecipe()),
    final=Fidelity(
        MacroConfig(in_channels=3, input_size=32, num_classes=10, cells_per_stage=4),
        TrainRecipe(
            optimizer="sgd",
            lr=0.05,
            weight_decay=5e-4,
            batch_size=128,
            max_epochs=60,
            schedule="cosine",
            augment=True,
            **_NO_STOPS,
        ),
        scored_on="test",
    ),
    lam=0.1,
    mean=CIFAR_MEAN,
    std=CIFAR_STD,
    random_graph_nodes=16,  # the paper's N = 15 generator nodes, plus the cell input
    paper_setting=True,
)

# Calibrated on this project's 2-core CPU machine; see README "Calibrating digits" and benchmarks/calibrate.py.
# The official overfit stop (val loss > 3x train loss) is off here: with a few hundred images it fires at epoch 2
# on BatchNorm's unsettled running statistics and turns the proxy into a lottery.
DIGITS = Benchmark(
    name="digits",
    description="CPU default: scikit-learn 8x8 digits, 40/class train + 40/class val (50/class held out), "
    "stem 16, widths 8/16/32, official residual search network, Adam 4e-3, batch 32, <=8 epochs, "
    "score acc - 0.03*(log10 MACs - 6)",
    dataset="digits",
    split=SplitSpec(train_per_class=40, val_per_class=40, test_per_class=50, seed=0),
    proxy=Fidelity(
        MacroConfig(in_channels=1, input_size=8, num_classes=10, stem_channels=16, widths=(8, 16, 32)),
        TrainRecipe(batch_size=32, max_epochs=8, overfit_ratio=None),
    ),
    final=Fidelity(
        MacroConfig(
            in_channels=1, input_size=8, num_classes=10, stem_channels=16, widths=(8, 16, 32), cells_per_stage=2
        ),
        TrainRecipe(batch_size=64, max_epochs=10, schedule="cosine", augment=True, flip=False, **_NO_STOPS),
        scored_on="test",
    ),
    # On its table (every N = 5 architecture, 3 seeds) the optimum is the 2-edge cell for any λ >= 0.05 and a 3-edge
    # cell for 0.02-0.04 ('nasbench-shrink landscape -b digits-table --lam X'): 0.03, the middle, keeps the
    # default a real search problem while MACs still break near-ties (the optimum has 6 edges at λ = 0).
    lam=0.03,
    mean=(0.305,),
    std=(0.375,),
    nodes=5,
    k=3,
    cpu_threads=1,  # a digits step gains little from a second thread (8.1 vs 9.2 ms), and results stay comparable
)

# The CPU tier of CIFAR-10 (calibration: benchmarks/results/calibrate_cifar10_small.json): the images area-averaged
# to 16x16, 450/class train and 100/class validation (from the official test set; its other 9,000 images are the
# held-out test split), the faithful search network at half of Table 1's widths, the official recipe shape (Adam
# 4e-3, the official early stops) over at most 2 epochs of batch 64. One thread per evaluation, as digits, so
# results do not depend on the number of workers. Measured over 30 random N = 5 cells x 2 seeds: median 2.89 s,
# accuracy spread over cells 0.027 (the paper's own proxy gives 0.036 on the same kind of cells), same-cell seed
# agreement Spearman 0.66 against -0.25 across cells; tabulated as the shipped 'cifar10-small-table'.
CIFAR10_SMALL = Benchmark(
    name="cifar10-small",
    description="CPU CIFAR-10 tier: 16x16 (area-averaged), 450/class train + 100/class val, stem 16, widths "
    "8/16/32, official residual search network, Adam 4e-3, batch 64, <=2 epochs with the official "
    "early stops, score acc - 0.1*(log10 MACs - 6)",
    dataset="cifar10-16",
    split=SplitSpec(train_per_class=450, val_per_class=100, seed=0),
    proxy=Fidelity(
        MacroConfig(in_channels=3, input_size=16, num_classes=10, stem_channels=16, widths=(8, 16, 32)),
        TrainRecipe(batch_size=64, max_epochs=2),
    ),
    final=Fidelity(
        MacroConfig(
            in_channels=3, input_size=16, num_classes=10, stem_channels=16, widths=(8, 16, 32), cells_per_stage=2
        ),
        TrainRecipe(
            optimizer="sgd",
            lr=0.05,
            weight_decay=5e-4,
            batch_size=128,
            max_epochs=10,
            schedule="cosine",
            augment=True,
            **_NO_STOPS,
        ),
        scored_on="test",
    ),
    lam=0.1,
    mean=CIFAR_MEAN,
    std=CIFAR_STD,
    nodes=5,
    k=3,
    cpu_threads=1,
)

# The paper's RNN search setting (§4.2): the 4,000-sentence PTB proxy, N = 6, K = 5, embedding = hidden = 200,
# about 10 epochs, Perf = validation perplexity. Where the paper is silent, the official search code
# (searching/rnn): SGD lr 20, clip 0.25, batch 128, bptt 35, lr / 10 after epochs 7 and 9, 4 epochs of patience,
# stop when val loss > 3 x the moving (0.9) train loss, no weight decay, vocabulary over all three proxy files,
# resource = active edges x H^2. Final: full PTB with NT-ASGD and the paper's dropouts and L2.
PTB_PROXY = Benchmark(
    name="ptb-proxy",
    description="The paper's RNN proxy: 4,000 PTB sentences, emb = hid = 200, SGD lr 20 (/10 after epochs 7, 9), "
    "clip 0.25, batch 128, bptt 35, <=10 epochs, score (200 - ppl)*0.25 - (log10(edges*H^2) - 6)",
    dataset="ptb",
    split=None,
    proxy=Fidelity(
        RNNConfig(emb_size=200, hidden_size=200),
        TrainRecipe(
            optimizer="sgd",
            lr=20.0,
            momentum=0.0,
            weight_decay=0.0,
            batch_size=128,
            max_epochs=10,
            lr_drops=(7, 9),
            patience=4,
            min_acc_epoch=None,
            overfit_ratio=3.0,
            ema_momentum=0.9,
            epoch_stop_acc=None,
            clip_grad=0.25,
            bptt=35,
        ),
        corpus="proxy",
    ),
    final=Fidelity(
        RNNConfig(
            emb_size=200, hidden_size=200, dropout_emb=0.2, dropout_in=0.75, dropout_hidden=0.25, dropout_out=0.75
        ),
        TrainRecipe(
            optimizer="ntasgd",
            lr=20.0,
            weight_decay=8e-7,
            batch_size=64,
            max_epochs=100,
            nonmono=5,
            clip_grad=0.25,
            bptt=35,
            **_NO_STOPS,
        ),
        corpus="ptb",
        scored_on="test",
    ),
    lam=1.0,
    space="rnn",
    nodes=6,
    k=5,
    task="lm",
    vocab_from="all",
)

# CPU-sized RNN preset: the same proxy corpus with its 2,000 most frequent words, a 64-wide cell, 3 epochs.
PTB_TINY = Benchmark(
    name="ptb-tiny",
    description="CPU RNN preset: PTB proxy corpus (2,000-word vocabulary), emb = hid = 64, SGD lr 20, clip 0.25, "
    "batch 32, bptt 20, <=3 epochs, score (200 - ppl)*0.25 - (log10(edges*H^2) - 6)",
    dataset="ptb",
    split=None,
    proxy=Fidelity(
        RNNConfig(emb_size=64, hidden_size=64),
        TrainRecipe(
            optimizer="sgd",
            lr=20.0,
            momentum=0.0,
            weight_decay=0.0,
            batch_size=32,
            max_epochs=3,
            patience=None,
            min_acc_epoch=None,
            overfit_ratio=3.0,
            ema_momentum=0.9,
            epoch_stop_acc=None,
            clip_grad=0.25,
            bptt=20,
        ),
        corpus="proxy",
    ),
    final=Fidelity(
        RNNConfig(emb_size=64, hidden_size=64, dropout_emb=0.1, dropout_in=0.2, dropout_hidden=0.1, dropout_out=0.2),
        TrainRecipe(
            optimizer="ntasgd",
            lr=20.0,
            weight_decay=8e-7,
            batch_size=32,
            max_epochs=8,
            nonmono=2,
            clip_grad=0.25,
            bptt=20,
            **_NO_STOPS,
        ),
        corpus="proxy",
        scored_on="test",
    ),
    lam=1.0,
    space="rnn",
    nodes=5,
    k=3,
    task="lm",
    vocab_limit=2000,
    vocab_from="all",
)

PRESETS: tuple[Benchmark, ...] = (DIGITS, CIFAR10_SMALL, CIFAR10_PROXY, PTB_PROXY, PTB_TINY)
