"""CNN networks from cells (paper §3.2 Eq. 1, §3.5, Table 1).

A node concatenates its inputs along channels and applies Conv-BN-act with either a 1x1 convolution or a 3x3
depthwise-separable convolution (depthwise 3x3, pointwise 1x1); every node of a cell has the stage's width.
Node 0 is the cell input (a 2x2 MaxPool when the cell opens a down-sampling stage). The cell output is the
concatenation of its leaves. Final networks may stack T cells per stage, add a residual connection from each
cell's input to its output (a 1x1 projection where widths differ) and use swish.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import torch
from torch import nn

from search_spaces.cell import Cell


def activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "swish":
        return nn.SiLU(inplace=True)
    raise ValueError(f"unknown activation {name!r}; expected 'relu' or 'swish'")


@dataclass(frozen=True)
class MacroConfig:
    """Macro-architecture settings (paper Table 1 defaults: stem 32, widths 16/32/64, T = 1)."""

    in_channels: int = 3
    input_size: int = 32
    num_classes: int = 10
    stem_channels: int = 32
    widths: tuple[int, ...] = (16, 32, 64)
    cells_per_stage: int = 1
    residual: bool = False
    activation: str = "relu"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["widths"] = list(self.widths)
        return d


class NodeOp(nn.Module):
    """Conv-BN-act of one cell node: ``conv1x1`` or ``sep3x3`` (depthwise 3x3 then pointwise 1x1)."""

    def __init__(self, op: str, in_channels: int, out_channels: int, act: str) -> None:
        super().__init__()
        if op == "conv1x1":
            conv: nn.Module = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        elif op == "sep3x3":
            conv = nn.Sequential(
                nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels, bias=False),
                nn.Conv2d(in_channels, out_channels, 1, bias=False),
            )
        else:
            raise ValueError(f"unknown CNN op {op!r}")
        self.body = nn.Sequential(conv, nn.BatchNorm2d(out_channels), activation(act))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class CellBlock(nn.Module):
    """One cell instantiated at a width: the pruned DAG, evaluated in node order."""

    def __init__(
        self,
        cell: Cell,
        in_channels: int,
        width: int,
        downsample: bool = False,
        act: str = "relu",
        residual: bool = False,
    ) -> None:
        super().__init__()
        p = cell.pruned()
        self.input_op: nn.Module = nn.MaxPool2d(2) if downsample else nn.Identity()
        channels = {0: in_channels}
        self.plan: list[tuple[int, tuple[int, ...]]] = []
        ops = {}
        for n in p.active_nodes[1:]:
            preds = p.predecessors(n)
            cin = sum(channels[i] for i in preds)
            ops[str(n)] = NodeOp(cell.ops[n], cin, width, act)
            channels[n] = width
            self.plan.append((n, preds))
        self.ops = nn.ModuleDict(ops)
        self.leaves = p.leaves
        self.out_channels = sum(channels[n] for n in self.leaves)
        self.residual = residual
        self.proj: nn.Module | None = None
        if residual and self.out_channels != in_channels:
            self.proj = nn.Sequential(nn.Conv2d(in_channels, self.out_channels, 1, bias=False),
                                      nn.BatchNorm2d(self.out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0 = self.input_op(x)
        outs: dict[int, torch.Tensor] = {0: x0}
        for n, preds in self.plan:
            inp = outs[preds[0]] if len(preds) == 1 else torch.cat([outs[i] for i in preds], dim=1)
            outs[n] = self.ops[str(n)](inp)
        y = outs[self.leaves[0]] if len(self.leaves) == 1 else torch.cat([outs[n] for n in self.leaves], dim=1)
        if self.residual:
            y = y + (self.proj(x0) if self.proj is not None else x0)
        return y


class CNN(nn.Module):
    """Table-1 macro network: stem, stages of T cells (MaxPool between stages), global average pool, FC."""

    def __init__(self, cell: Cell, config: MacroConfig = MacroConfig()) -> None:
        super().__init__()
        if cell.space != "cnn":
            raise ValueError(f"a CNN needs a 'cnn' cell, got a {cell.space!r} cell")
        c = config
        self.config = c
        self.stem = nn.Sequential(
            nn.Conv2d(c.in_channels, c.stem_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(c.stem_channels),
            activation(c.activation),
        )
        blocks = []
        ch = c.stem_channels
        for s, width in enumerate(c.widths):
            for t in range(c.cells_per_stage):
                block = CellBlock(cell, ch, width, downsample=(s > 0 and t == 0), act=c.activation,
                                  residual=c.residual)
                blocks.append(block)
                ch = block.out_channels
        self.cells = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(ch, c.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.cells(self.stem(x))
        return self.fc(torch.flatten(self.pool(x), 1))


def build_cnn(cell: Cell, config: MacroConfig | None = None, **overrides) -> CNN:
    """Build the CNN for ``cell``; ``overrides`` replace fields of ``config`` (e.g. ``cells_per_stage=3``)."""
    cfg = config or MacroConfig()
    if overrides:
        if "widths" in overrides:
            overrides["widths"] = tuple(overrides["widths"])
        cfg = MacroConfig(**{**cfg.to_dict(), "widths": cfg.widths, **overrides})
    return CNN(cell, cfg)


def input_shape(config: MacroConfig) -> Sequence[int]:
    return (config.in_channels, config.input_size, config.input_size)
