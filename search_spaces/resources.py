"""Resource counts of a network: forward MACs per example and parameters.

MACs come from ``torch.utils.flop_counter.FlopCounterMode`` on one forward pass (MACs = FLOPs / 2). Only the
forward pass is counted: the counter over-counts the backward of grouped convolutions. torch is imported where
a network is counted: a lookup-only comparison (``search_spaces.cnn_cost`` builds ``Resources`` without a
network) never loads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn


@dataclass(frozen=True)
class Resources:
    macs: int
    params: int


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, example: torch.Tensor) -> int:
    """Forward multiply-accumulates for the batch in ``example``, divided by its batch size."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(example)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops() // 2 // example.shape[0])


def count_resources(model: nn.Module, input_shape: Sequence[int], dtype: torch.dtype | None = None) -> Resources:
    """MACs per example and parameter count for an input of shape ``input_shape`` (no batch dimension; ``dtype``
    default float32)."""
    import torch

    device = next(model.parameters()).device
    example = torch.zeros((1, *input_shape), dtype=dtype or torch.float32, device=device)
    return Resources(macs=count_macs(model, example), params=count_params(model))
