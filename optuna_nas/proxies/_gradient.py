"""Gradient-based proxies: ``grad_norm``, ``snip``, ``grasp``, ``fisher`` and ``synflow``.

Each sums a per-weight (or per-channel) saliency over the network's convolutions and linear
layers, as Abdelfattah et al. ("Zero-Cost Proxies for Lightweight NAS", ICLR 2021) turned the
pruning-at-initialisation criteria into architecture scores.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from optuna_nas.proxies._context import ProxyContext
from optuna_nas.proxies._context import prunable_layers


def grad_norm(context: ProxyContext) -> float:
    """The sum over layers of the Euclidean norm of the cross-entropy gradient of the weights."""
    grads = context.shared().weight_grads or []
    return float(sum(grad.norm().item() for grad in grads))


def snip(context: ProxyContext) -> float:
    """The connection sensitivity ``sum |theta * dL/dtheta|`` (Lee et al., ICLR 2019)."""
    grads = context.shared().weight_grads or []
    return float(
        sum(
            (layer.weight.detach() * grad).abs().sum().item()
            for layer, grad in zip(context.layers, grads, strict=True)
        )
    )


def grasp(context: ProxyContext) -> float:
    """Gradient signal preservation ``sum -theta * (H g)`` (Wang et al., ICLR 2020).

    ``g`` is the cross-entropy gradient of the shared pass, which keeps its graph for this
    proxy; the Hessian-gradient product ``H g`` is the gradient of ``g . stop_grad(g)``,
    taken through that graph (a double backward, no second forward pass).
    """
    shared = context.shared()
    weights = [layer.weight for layer in context.layers]
    graph = shared.grad_graph or []
    fixed = shared.weight_grads or []

    pairs = zip(graph, fixed, strict=True)
    product = sum((g * f).sum() for g, f in pairs if g is not None and g.requires_grad)
    if not isinstance(product, torch.Tensor):
        return 0.0
    hessian_grads = torch.autograd.grad(product, weights, allow_unused=True)
    return float(
        sum(
            (-w.detach() * hg).sum().item()
            for w, hg in zip(weights, hessian_grads, strict=True)
            if hg is not None
        )
    )


def fisher(context: ProxyContext) -> float:
    """The summed Fisher saliency of every channel of the convolutions' and linear outputs.

    A channel's saliency is ``0.5 * mean_n (sum_positions a * dL/da)^2`` (Theis et al. 2018),
    summed over channels and layers as in BlockSwap (Turner et al., ICLR 2020); as in
    Abdelfattah et al. (ICLR 2021), each channel's saliency is spread over its weights, so it
    counts once per weight of the channel (its fan-in).
    """
    value = context.shared().fisher
    return 0.0 if value is None else value


def synflow(context: ProxyContext) -> float:
    """Synaptic flow ``sum |theta * dR/dtheta|`` with ``R`` the output of a linearised network.

    As Tanaka et al. (NeurIPS 2020) and Abdelfattah et al. (ICLR 2021): batch norm is removed,
    every weight replaced by its absolute value, the network run in double precision on one
    all-ones input, and ``R`` is the sum of its outputs; double precision keeps the products of
    deep paths from overflowing or underflowing. The data are not used.
    """
    network = _without_batch_norm(copy.deepcopy(context.network)).double().eval()
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.abs_()

    shape = (1, *context.inputs.shape[1:])
    ones = torch.ones(shape, dtype=torch.float64, device=context.inputs.device)
    network.zero_grad(set_to_none=True)
    network(ones).sum().backward()

    total = 0.0
    for layer in prunable_layers(network):
        if layer.weight.grad is not None:
            total += (layer.weight.detach() * layer.weight.grad).abs().sum().item()
    return total


def _without_batch_norm(network: nn.Module) -> nn.Module:
    """Replace every batch-norm layer of ``network`` by the identity, in place."""
    for name, child in list(network.named_children()):
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(network, name, nn.Identity())
        else:
            _without_batch_norm(child)
    return network
