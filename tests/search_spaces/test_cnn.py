import pytest
import torch

from search_spaces import Cell, MacroConfig, build_cnn, complete_cell, count_resources


def test_forward_shapes_and_leaf_concatenation():
    c = Cell("cnn", 4, [(0, 1), (0, 2), (1, 3)], ["input", "conv1x1", "sep3x3", "conv1x1"])
    net = build_cnn(c)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    # leaves 2 and 3 are concatenated: each stage's cell outputs 2 x width channels
    assert [b.out_channels for b in net.cells] == [32, 64, 128]
    assert net.fc.in_features == 128


def test_macro_options_stack_residual_and_swish():
    c = complete_cell("cnn", 5, seed=1)
    cfg = MacroConfig(
        in_channels=1, input_size=8, num_classes=7, widths=(4, 8), cells_per_stage=3, residual=True, activation="swish"
    )
    net = build_cnn(c, cfg)
    assert len(net.cells) == 6
    assert net(torch.randn(3, 1, 8, 8)).shape == (3, 7)
    assert any(isinstance(m, torch.nn.SiLU) for m in net.modules())
    assert any(b.proj is not None for b in net.cells)


def test_identity_cell_builds_a_stem_only_network():
    c = Cell("cnn", 3, [], ["input", "conv1x1", "sep3x3"])
    net = build_cnn(c, residual=False)
    assert net(torch.randn(1, 3, 32, 32)).shape == (1, 10)
    assert net.fc.in_features == 32


def test_macs_match_a_hand_count():
    # one conv1x1 node of width 16 at 32x32 per stage 1, then 16x16, 8x8 with widths 32, 64
    c = Cell("cnn", 2, [(0, 1)], ["input", "conv1x1"])
    r = count_resources(build_cnn(c, residual=False), (3, 32, 32))
    stem = 3 * 32 * 9 * 32 * 32
    s1 = 32 * 16 * 32 * 32
    s2 = 16 * 32 * 16 * 16
    s3 = 32 * 64 * 8 * 8
    fc = 64 * 10
    assert r.macs == stem + s1 + s2 + s3 + fc
    # depthwise-separable: depthwise 3x3 plus pointwise
    d = Cell("cnn", 2, [(0, 1)], ["input", "sep3x3"])
    rd = count_resources(build_cnn(d, residual=False), (3, 32, 32))
    dw = 32 * 9 * 32 * 32 + 16 * 9 * 16 * 16 + 32 * 9 * 8 * 8
    assert rd.macs == stem + dw + s1 + s2 + s3 + fc


def test_params_count_every_weight():
    net = build_cnn(complete_cell("cnn", 8, seed=0))
    assert count_resources(net, (3, 32, 32)).params == sum(p.numel() for p in net.parameters())


def test_wrong_space_is_rejected():
    with pytest.raises(ValueError, match="cnn"):
        build_cnn(Cell("rnn", 2, [(0, 1)], ["input", "tanh"]))


@pytest.mark.parametrize(
    "config",
    [
        MacroConfig(in_channels=3, input_size=16, stem_channels=16, widths=(8, 16, 32)),  # cifar10-small
        MacroConfig(aggregation="sum"),
        MacroConfig(separable="v2", residual=False, cells_per_stage=2),
        MacroConfig(in_channels=1, input_size=8, stem_channels=16, widths=(8, 16, 32), aggregation="sum"),
    ],
    ids=["small", "sum", "v2-plain-T2", "digits-sum"],
)
def test_counted_resources_equal_the_built_networks(config):
    """The surrogate's exact costs: counting from the cell gives what the flop counter measures on the network."""
    import random

    from search_spaces.cnn_cost import cnn_resources
    from search_spaces.space import all_edges, random_ops

    rng = random.Random(1)
    for nodes in (2, 5, 8):
        for _ in range(8):
            keep = rng.random()
            cell = Cell(
                "cnn", nodes, [e for e in all_edges(nodes) if rng.random() < keep], random_ops("cnn", nodes, rng)
            )
            built = count_resources(
                build_cnn(cell.pruned(), config), (config.in_channels, config.input_size, config.input_size)
            )
            assert cnn_resources(cell, config) == built, cell
