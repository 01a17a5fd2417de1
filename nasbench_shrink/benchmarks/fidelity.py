"""One stage of a benchmark — the network, the training recipe and the data it is scored on — as one value.

A benchmark has two: ``proxy`` (what a search evaluates: Perf = the best validation value) and ``final`` (the
chosen cell's final training: the last epoch on the held-out test split). Everything in a ``Fidelity`` changes an
evaluation's result, so it is hashed into the cache's fidelity key.

Example:
    >>> from search_spaces import MacroConfig
    >>> from nasbench_shrink.benchmarks.fidelity import Fidelity
    >>> from nasbench_shrink.benchmarks.recipe import TrainRecipe
    >>> Fidelity(MacroConfig(), TrainRecipe()).scored_on
    'val'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nasbench_shrink.benchmarks.recipe import TrainRecipe

__all__ = ["STAGES", "Fidelity"]

STAGES = ("proxy", "final")


@dataclass(frozen=True)
class Fidelity:
    """A stage's network config (``MacroConfig`` or ``RNNConfig``), recipe, and data.

    Args:
        network: The network configuration the cell is built into.
        recipe: How it is trained.
        corpus: Language models: the PTB file prefix (``proxy`` or ``ptb``).
        scored_on: ``val``: Perf is the best validation value (proxy); ``test``: the last epoch on the held-out
            test split, no early stopping (final).
    """

    network: Any
    recipe: TrainRecipe
    corpus: str | None = None
    scored_on: str = "val"

    def __post_init__(self) -> None:
        if self.scored_on not in ("val", "test"):
            raise ValueError(f"scored_on must be 'val' or 'test', got {self.scored_on!r}")
