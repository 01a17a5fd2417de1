"""MACs and parameters of the CNN of a cell, counted from the cell and the macro configuration without building
the network: the same numbers ``resources.count_resources(build_cnn(cell, config))`` measures (tests check them
equal on random cells of every configuration), in microseconds instead of milliseconds.

A surrogate answers a query in microseconds, so the exact cost of the architecture it answers for must be as
cheap; counting by construction keeps "MACs are computed, never predicted" true there. What counts is what
``torch.utils.flop_counter`` counts: convolutions (Cout × Cin/groups × k² per output pixel) and the classifier's
matrix product; BatchNorm, activations, pooling, concatenation and additions cost nothing.
"""

from __future__ import annotations

from search_spaces.cell import Cell
from search_spaces.configs import MacroConfig
from search_spaces.resources import Resources

__all__ = ["cnn_resources"]


def _conv_bn(cin: int, cout: int, pixels: int, kernel: int = 1, groups: int = 1, bn: bool = True) -> tuple[int, int]:
    """(MACs, params) of a bias-free convolution producing ``pixels`` output pixels, and its BatchNorm."""
    weights = cout * (cin // groups) * kernel * kernel
    return weights * pixels, weights + (2 * cout if bn else 0)


def _node(op: str, cin: int, width: int, pixels: int, separable: str) -> tuple[int, int]:
    if op == "conv1x1":
        return _conv_bn(cin, width, pixels)
    depthwise = _conv_bn(cin, cin, pixels, kernel=3, groups=cin, bn=separable == "v1")
    pointwise = _conv_bn(cin, width, pixels)
    return depthwise[0] + pointwise[0], depthwise[1] + pointwise[1]


class _Structure:
    """What every block of the network asks of the pruned cell, worked out once per cell (it has one block per
    stage): each node's op, whether node 0 feeds it and how many other nodes do, and the leaves. Every node but
    node 0 outputs the block's width, so these decide every node's input channels."""

    def __init__(self, cell: Cell) -> None:
        p = cell.pruned()
        preds: dict[int, list[int]] = {}
        for i, j in p.edges:
            preds.setdefault(j, []).append(i)
        self.nodes = [(p.ops[n], 0 in preds[n], len(preds[n]) - (0 in preds[n])) for n in sorted(preds)]
        self.leaf_count = len(preds) - len({i for i, _ in p.edges} - {0})  # nodes with inputs and no output
        self.identity = not preds


def _cell(
    p: _Structure, cin0: int, width: int, size: int, downsample: bool, config: MacroConfig
) -> tuple[int, int, int, int]:
    """(MACs, params, output channels, output size) of one ``CellBlock`` of the pruned cell ``p``."""
    out_size = (size // 2) if downsample else size
    pixels = out_size * out_size
    macs = params = 0
    projected = False
    concat = config.aggregation == "concat"
    for op, from_input, others in p.nodes:
        if concat:
            cin = (cin0 if from_input else 0) + width * others
        else:  # sum: node 0's output is projected once to the width when it differs
            cin = width
            if from_input and cin0 != width and not projected:
                m, q = _conv_bn(cin0, width, pixels)
                macs, params, projected = macs + m, params + q, True
        m, q = _node(op, cin, width, pixels, config.separable)
        macs, params = macs + m, params + q
    out = cin0 if p.identity else (width * p.leaf_count if concat else width)
    if config.residual and (out != cin0 or downsample):
        m, q = _conv_bn(cin0, out, pixels)  # the projection's stride equals the pooling factor
        macs, params = macs + m, params + q
    return macs, params, out, out_size


def cnn_resources(cell: Cell, config: MacroConfig) -> Resources:
    """Forward MACs per image and parameters of ``build_cnn(cell, config)``, counted without building it."""
    if cell.space != "cnn":
        raise ValueError(f"a CNN needs a 'cnn' cell, got a {cell.space!r} cell")
    p = _Structure(cell)
    size = config.input_size
    macs, params = _conv_bn(config.in_channels, config.stem_channels, size * size, kernel=3)
    ch = config.stem_channels
    for s, width in enumerate(config.widths):
        for t in range(config.cells_per_stage):
            m, q, ch, size = _cell(p, ch, width, size, s > 0 and t == 0, config)
            macs, params = macs + m, params + q
    macs += ch * config.num_classes
    params += ch * config.num_classes + config.num_classes
    return Resources(macs=macs, params=params)
