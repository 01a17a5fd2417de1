"""The network settings of the search space as plain data (no torch): what a benchmark preset holds.

``cnn.py`` and ``rnn.py`` build networks from these; keeping them apart lets a benchmark, a table or a command
line read and compare settings without importing torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["AGGREGATIONS", "SEPARABLE_VERSIONS", "MacroConfig", "RNNConfig"]

SEPARABLE_VERSIONS = ("v1", "v2")
AGGREGATIONS = ("concat", "sum")


@dataclass(frozen=True)
class MacroConfig:
    """Macro-architecture settings. Defaults: the paper's Table 1 search network (stem 32, widths 16/32/64,
    T = 1) built from the official residual search cell with the v1 separable convolution."""

    in_channels: int = 3
    input_size: int = 32
    num_classes: int = 10
    stem_channels: int = 32
    widths: tuple[int, ...] = (16, 32, 64)
    cells_per_stage: int = 1
    residual: bool = True
    activation: str = "relu"
    separable: str = "v1"
    aggregation: str = "concat"

    def __post_init__(self) -> None:
        if self.separable not in SEPARABLE_VERSIONS:
            raise ValueError(f"unknown separable version {self.separable!r}; expected one of {SEPARABLE_VERSIONS}")
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"unknown aggregation {self.aggregation!r}; expected one of {AGGREGATIONS}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["widths"] = list(self.widths)
        return d


@dataclass(frozen=True)
class RNNConfig:
    """Language-model sizes and dropouts (paper: embedding = hidden = 200; dropouts only for final training)."""

    vocab_size: int = 10000
    emb_size: int = 200
    hidden_size: int = 200
    dropout_emb: float = 0.0  # embedding dropout (drops whole words)
    dropout_in: float = 0.0  # locked (variational) dropout on the cell input
    dropout_hidden: float = 0.0  # locked dropout on the recurrent state fed to node 0
    dropout_out: float = 0.0  # locked dropout on the cell output

    def to_dict(self) -> dict:
        return asdict(self)
