"""Activation- and Jacobian-based proxies: ``nwot``, ``jacob_cov`` and ``zen``."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from optuna_nas.proxies._context import ProxyContext

# Mellor et al.'s regulariser of the Jacobian correlation eigenvalues.
_JACOBIAN_K = 1e-5

# Zen-NAS's perturbation of the input (Lin et al. 2021, "mixup_gamma").
_ZEN_ALPHA = 1e-2


def nwot(context: ProxyContext) -> float:
    """The log-determinant of the kernel of binary ReLU codes (Mellor et al., ICML 2021).

    Each example's code says which ReLU units it activates; ``K[i, j]`` counts the units on
    which examples ``i`` and ``j`` agree (the number of units minus the Hamming distance of the
    codes), summed over every ReLU. Networks that tell the examples of a minibatch apart get a
    larger ``log |det K|``; a singular kernel (examples not told apart) scores the floor.
    """
    kernel = context.shared().relu_kernel
    if kernel is None:
        return float("-inf")
    try:
        _, logdet = torch.linalg.slogdet(kernel)
    except torch.linalg.LinAlgError:
        return float("-inf")
    return float(logdet)


def jacob_cov(context: ProxyContext) -> float:
    """How uncorrelated the input Jacobians of the examples are (Mellor et al. 2020, v1).

    With ``v`` the eigenvalues of the correlation matrix of the per-example Jacobians of the
    summed outputs, the score is ``-sum(log(v + k) + 1 / (v + k))`` with ``k = 1e-5``: largest
    when the correlation matrix is the identity.
    """
    jacobian = context.shared().jacobian
    if jacobian is None:
        return float("-inf")
    correlation = torch.corrcoef(jacobian.double())
    if not torch.isfinite(correlation).all():
        # An example whose Jacobian is constant has no correlation: the network is degenerate.
        return float("-inf")

    try:
        eigenvalues = torch.linalg.eigvalsh(correlation).clamp_min(0.0) + _JACOBIAN_K
    except torch.linalg.LinAlgError:
        return float("-inf")
    return float(-(eigenvalues.log() + eigenvalues.reciprocal()).sum())


def zen(context: ProxyContext) -> float:
    """The Zen-score: expressivity of the pre-pooling features, corrected for batch norm.

    As Lin et al. (ICCV 2021): on a copy of the network with Gaussian weights, Gaussian inputs
    ``x`` and ``x + 0.01 e`` give pre-global-pooling features ``f``; the score is
    ``log E_n ||f(x) - f(x + 0.01 e)||_1 + sum_BN log sqrt(mean_c sigma_c^2)``, where
    ``sigma_c^2`` is the batch variance of each batch-norm layer's input channel. The data are
    not used (only their shape); the draws come from the context's seed.
    """
    network = copy.deepcopy(context.network).train()
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.modules.batchnorm._BatchNorm) and module.affine:
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    pools = [m for m in network.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    features: list[torch.Tensor] = []
    deviations: list[torch.Tensor] = []
    recording = [True]

    def pool_hook(module: nn.Module, args: tuple[Any, ...]) -> None:
        features.append(args[0])

    def batch_norm_hook(module: nn.Module, args: tuple[Any, ...]) -> None:
        if recording[0]:
            variance = args[0].transpose(0, 1).flatten(1).var(dim=1, unbiased=False)
            deviations.append(variance.mean().sqrt())

    handles = [
        m.register_forward_pre_hook(batch_norm_hook)
        for m in network.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
    ]
    if pools:
        handles.append(pools[-1].register_forward_pre_hook(pool_hook))

    shape = context.inputs.shape
    device = context.inputs.device
    inputs = torch.randn(shape, device=device)
    mixed = inputs + _ZEN_ALPHA * torch.randn(shape, device=device)
    try:
        with torch.no_grad():
            outputs = network(inputs)
            recording[0] = False
            mixed_outputs = network(mixed)
    finally:
        for handle in handles:
            handle.remove()

    if pools:
        outputs, mixed_outputs = features[0], features[1]
    difference = (outputs - mixed_outputs).abs().flatten(1).sum(1).mean()
    correction = sum(float(d.log()) for d in deviations)
    return float(difference.log()) + correction
