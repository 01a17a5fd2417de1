"""CNN networks from cells (paper §3.2 Eq. 1, §3.5, Table 1; official AutoShrink search network).

A node aggregates its inputs (channel concatenation, paper Eq. 1) and applies one operation at the stage's width:
``conv1x1`` (Conv-BN-act) or ``sep3x3``, the official "v1" separable convolution (depthwise 3x3 → BN → act →
pointwise 1x1 → BN → act). Node 0 is the cell input (a MaxPool when the cell opens a down-sampling stage); the
cell output is the concatenation of its leaves.

By default a cell is the official *residual block* (``residual=True``): the leaves' last activation is dropped
(a linear bottleneck), and the concatenated leaves are added to the cell's input as it was *before* node 0's
pooling — through a 1x1 convolution + BN whose stride is the pooling factor when channels or sizes differ, as
the identity otherwise — with no activation after the add. The projection's MACs and parameters count.

Options beyond the paper's network, each a field of ``MacroConfig`` (and so of a benchmark's fidelity):
``separable="v2"`` (depthwise → pointwise → one BN → act, a variant the official code warns finds different
cells), ``aggregation="sum"`` (RandWire-style: inputs projected to the width where needed and summed, leaves
averaged), ``residual=False`` (a plain cell), ``cells_per_stage`` T and ``activation`` (``swish``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from search_spaces.cell import Cell
from search_spaces.configs import AGGREGATIONS, SEPARABLE_VERSIONS, MacroConfig  # noqa: F401 - re-exported


def activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "swish":
        return nn.SiLU(inplace=True)
    raise ValueError(f"unknown activation {name!r}; expected 'relu' or 'swish'")


def _conv_bn(cin: int, cout: int, kernel: int = 1, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]


class NodeOp(nn.Module):
    """One cell node's operation. ``linear=True`` drops the last activation (a leaf of a residual cell).

    ``conv1x1``: Conv-BN-act. ``sep3x3`` v1: depthwise 3x3-BN-act, pointwise 1x1-BN-act (the depthwise activation
    stays when the node is linear, as in the official layer). ``sep3x3`` v2: depthwise, pointwise, BN, act.
    """

    def __init__(
        self, op: str, in_channels: int, out_channels: int, act: str, linear: bool = False, separable: str = "v1"
    ) -> None:
        super().__init__()
        if op == "conv1x1":
            layers = _conv_bn(in_channels, out_channels)
        elif op == "sep3x3" and separable == "v1":
            layers = [
                *_conv_bn(in_channels, in_channels, 3, groups=in_channels),
                activation(act),
                *_conv_bn(in_channels, out_channels),
            ]
        elif op == "sep3x3" and separable == "v2":
            layers = [
                nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels, bias=False),
                *_conv_bn(in_channels, out_channels),
            ]
        else:
            raise ValueError(f"unknown CNN op {op!r} (separable {separable!r})")
        if not linear:
            layers.append(activation(act))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class CellBlock(nn.Module):
    """One cell instantiated at a width: the pruned DAG evaluated in node order, optionally a residual block."""

    def __init__(
        self,
        cell: Cell,
        in_channels: int,
        width: int,
        downsample: bool = False,
        act: str = "relu",
        residual: bool = True,
        separable: str = "v1",
        aggregation: str = "concat",
    ) -> None:
        super().__init__()
        p = cell.pruned()
        stride = 2 if downsample else 1
        self.input_op: nn.Module = nn.MaxPool2d(stride) if stride > 1 else nn.Identity()
        self.leaves = p.leaves
        self.aggregation = aggregation
        channels = {0: in_channels}
        self.plan: list[tuple[int, tuple[int, ...]]] = []
        ops, projections = {}, {}
        for n in p.active_nodes[1:]:
            preds = p.predecessors(n)
            if aggregation == "concat":
                cin = sum(channels[i] for i in preds)
            else:  # sum: an input of another width is first projected (1x1 conv + BN) to the node's width
                cin = width
                for i in preds:
                    if channels[i] != width and str(i) not in projections:
                        projections[str(i)] = nn.Sequential(*_conv_bn(channels[i], width))
            ops[str(n)] = NodeOp(
                cell.ops[n], cin, width, act, linear=residual and n in self.leaves, separable=separable
            )
            channels[n] = width
            self.plan.append((n, preds))
        self.ops = nn.ModuleDict(ops)
        self.input_proj = nn.ModuleDict(projections)
        if aggregation == "concat" or self.leaves == (0,):
            self.out_channels = sum(channels[n] for n in self.leaves)
        else:
            self.out_channels = width
        self.residual = residual
        self.proj: nn.Module | None = None
        if residual and (self.out_channels != in_channels or stride > 1):
            # official residual add: the cell input before pooling, 1x1 conv + BN with stride = the pooling factor
            self.proj = nn.Sequential(*_conv_bn(in_channels, self.out_channels, stride=stride))

    def _gather(self, outs: dict[int, torch.Tensor], nodes: Sequence[int], mean: bool = False) -> torch.Tensor:
        if len(nodes) == 1:
            return outs[nodes[0]]
        if self.aggregation == "concat":
            return torch.cat([outs[i] for i in nodes], dim=1)
        total = sum(outs[i] for i in nodes)
        return total / len(nodes) if mean else total

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0 = self.input_op(x)
        outs: dict[int, torch.Tensor] = {0: x0}
        if "0" in self.input_proj:
            outs[0] = self.input_proj["0"](x0)
        for n, preds in self.plan:
            outs[n] = self.ops[str(n)](self._gather(outs, preds))
        y = x0 if self.leaves == (0,) else self._gather(outs, self.leaves, mean=True)
        if self.residual:
            y = y + (self.proj(x) if self.proj is not None else x)
        return y


class CNN(nn.Module):
    """Table-1 macro network: stem, stages of T cells (MaxPool between stages), global average pool, FC."""

    def __init__(self, cell: Cell, config: MacroConfig = MacroConfig()) -> None:
        super().__init__()
        if cell.space != "cnn":
            raise ValueError(f"a CNN needs a 'cnn' cell, got a {cell.space!r} cell")
        c = config
        self.config = c
        self.stem = nn.Sequential(*_conv_bn(c.in_channels, c.stem_channels, 3), activation(c.activation))
        blocks = []
        ch = c.stem_channels
        for s, width in enumerate(c.widths):
            for t in range(c.cells_per_stage):
                block = CellBlock(
                    cell,
                    ch,
                    width,
                    downsample=(s > 0 and t == 0),
                    act=c.activation,
                    residual=c.residual,
                    separable=c.separable,
                    aggregation=c.aggregation,
                )
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
