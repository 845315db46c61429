"""Cost proxies: ``params`` and ``flops``.

Model size and compute are the baselines every zero-cost study compares against (Abdelfattah
et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021; Krishnakumar et al.,
"NAS-Bench-Suite-Zero", NeurIPS 2022 Datasets and Benchmarks).
"""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from optuna_nas.proxies._context import ProxyContext


def params(context: ProxyContext) -> float:
    """The number of trainable parameters."""
    return float(sum(p.numel() for p in context.network.parameters() if p.requires_grad))


def flops(context: ProxyContext) -> float:
    """The floating-point operations of one example's forward pass.

    Counted by :class:`torch.utils.flop_counter.FlopCounterMode` in evaluation mode (a
    multiply-add counts as two operations).
    """
    network = context.network
    was_training = network.training
    network.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            network(context.inputs[:1])
    finally:
        network.train(was_training)
    return float(counter.get_total_flops())
