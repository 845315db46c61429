"""Cost proxies: ``params`` and ``flops``.

Model size and compute are the baselines every zero-cost study compares against (Abdelfattah
et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021; Krishnakumar et al.,
"NAS-Bench-Suite-Zero", NeurIPS 2022 Datasets and Benchmarks).
"""

from __future__ import annotations

from optuna_nas.nn import count_flops
from optuna_nas.nn import count_parameters
from optuna_nas.proxies._context import ProxyContext


def params(context: ProxyContext) -> float:
    """The number of trainable parameters."""
    return float(count_parameters(context.network))


def flops(context: ProxyContext) -> float:
    """The floating-point operations of one example's forward pass.

    Counted by :class:`torch.utils.flop_counter.FlopCounterMode` in evaluation mode (a
    multiply-add counts as two operations).
    """
    return float(count_flops(context.network, context.inputs[:1]))
