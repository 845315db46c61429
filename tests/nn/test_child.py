from __future__ import annotations

import pytest
import torch

from optuna_nas.nn import NB201Network
from optuna_nas.nn import build_op
from optuna_nas.nn import count_parameters
from optuna_nas.spaces import NB201_OPS
from optuna_nas.spaces import NASBench201Space


@pytest.mark.parametrize("op", NB201_OPS)
def test_every_op_keeps_the_shape(op: str) -> None:
    x = torch.randn(2, 4, 8, 8)
    out = build_op(op, 4)(x)

    assert out.shape == x.shape
    if op == "none":
        assert torch.count_nonzero(out) == 0


def test_unknown_op_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="Unknown operation 'conv_7x7'"):
        build_op("conv_7x7", 4)


@pytest.mark.parametrize("op", NB201_OPS)
def test_uniform_cells_build_and_run_on_8x8(op: str) -> None:
    space = NASBench201Space(channels=4, cells_per_stage=2)
    network = space.build(space.make([op] * 6), in_channels=1, num_classes=7)

    logits = network(torch.randn(3, 1, 8, 8))
    assert logits.shape == (3, 7)
    assert torch.isfinite(logits).all()


def test_all_none_cell_still_trains_its_skeleton() -> None:
    space = NASBench201Space(channels=4, cells_per_stage=1)
    network = space.build(space.make(["none"] * 6), in_channels=3, num_classes=10)

    loss = network(torch.randn(2, 3, 32, 32)).sum()
    loss.backward()
    assert network.classifier.weight.grad is not None


def test_shape_follows_the_configuration() -> None:
    cell = ["nor_conv_3x3"] * 6
    small = NB201Network(cell, channels=4, cells_per_stage=1, in_channels=3, num_classes=10)
    large = NB201Network(cell, channels=8, cells_per_stage=2, in_channels=3, num_classes=10)

    assert count_parameters(large) > count_parameters(small)
    assert large.classifier.in_features == 8 * 4
    assert len(large.cells) == 3 * 2 + 2


def test_benchmark_sized_network_matches_the_published_parameter_count() -> None:
    # NAS-Bench-201 reports 1.53M parameters for the all-3x3-convolution cell with C=16, N=5.
    space = NASBench201Space()
    network = space.build(space.make(["nor_conv_3x3"] * 6), num_classes=10)

    assert abs(count_parameters(network) / 1e6 - 1.53) < 0.02
