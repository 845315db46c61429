"""Tiny NAS-Bench-201 networks and minibatches for the proxy tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from optuna_nas.spaces import Architecture
from optuna_nas.spaces import NASBench201Space

STRONG = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
    "+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
)
# A chain of skip connections: no parameters in the cell, one path.
WEAK = "|skip_connect~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"
EMPTY = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


@pytest.fixture
def cells() -> dict[str, str]:
    """A cell of convolutions, a skip-connection chain, and a cell that ignores its input."""
    return {"strong": STRONG, "weak": WEAK, "empty": EMPTY}


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(8, 3, 8, 8, generator=generator)
    targets = torch.randint(0, 10, (8,), generator=generator)
    return inputs, targets


@pytest.fixture
def build(space: NASBench201Space) -> Callable[[str], torch.nn.Module]:
    """Return a function that builds the network of a cell string under seed 0."""

    def build_network(string: str) -> torch.nn.Module:
        arch: Architecture = space.parse(string)
        torch.manual_seed(0)
        return space.build(arch, in_channels=3, num_classes=10)

    return build_network
