"""Size and compute of a network."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_parameters(network: nn.Module) -> int:
    """Return the number of trainable parameters of ``network``."""
    return sum(p.numel() for p in network.parameters() if p.requires_grad)


def count_flops(network: nn.Module, example: torch.Tensor) -> int:
    """Return the floating-point operations of one forward pass of ``example``.

    Counted by :class:`torch.utils.flop_counter.FlopCounterMode` in evaluation mode, without
    gradients (a multiply-add counts as two operations).
    """
    was_training = network.training
    network.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            network(example)
    finally:
        network.train(was_training)
    return int(counter.get_total_flops())
