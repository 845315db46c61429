"""The shared computation behind the zero-cost proxies: one minibatch, passes run once.

A zero-cost proxy scores an untrained network from one minibatch (Abdelfattah et al.,
"Zero-Cost Proxies for Lightweight NAS", ICLR 2021). A :class:`ProxyContext` runs the passes
that several proxies need (one training-mode forward pass with its backward passes) once and
caches them, so scoring a network with several proxies does the shared work once.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

_logger = logging.getLogger(__name__)

#: The score of a degenerate network (one whose output ignores its input) and the value that
#: replaces a non-finite score: below every real value of every proxy, and never NaN.
FLOOR: float = -1.0e30

#: The name of the rank-aggregation ensemble (see :mod:`optuna_nas.proxies._ensemble`).
ENSEMBLE = "ensemble"

# What the shared training-mode pass can collect.
NEED_WEIGHT_GRADS = "weight_grads"
NEED_FISHER = "fisher"
NEED_RELU_CODES = "relu_codes"
NEED_JACOBIAN = "jacobian"
NEED_GRAD_GRAPH = "grad_graph"
#: Every part of the shared pass a proxy can read.
NEEDS = frozenset(
    {NEED_WEIGHT_GRADS, NEED_FISHER, NEED_RELU_CODES, NEED_JACOBIAN, NEED_GRAD_GRAPH}
)


def prunable_layers(network: nn.Module) -> list[nn.Module]:
    """Return the convolutions and linear layers, the layers the gradient proxies score."""
    return [m for m in network.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


@dataclasses.dataclass
class SharedPass:
    """What one training-mode forward pass and its backward passes produced.

    Args:
        weight_grads: The cross-entropy gradient of each prunable layer's weight.
        fisher: The Fisher channel saliencies of the prunable layers' outputs, each counted
            once per weight of its channel.
        relu_kernel: The NASWOT kernel ``K`` of the binary ReLU codes (float64).
        jacobian: The input Jacobian of the summed outputs, one flattened row per example.
        grad_graph: The weight gradients as tensors of the autograd graph (``create_graph``),
            so second derivatives (Hessian-vector products) can be taken from them.
    """

    weight_grads: list[torch.Tensor] | None = None
    fisher: float | None = None
    relu_kernel: torch.Tensor | None = None
    jacobian: torch.Tensor | None = None
    grad_graph: list[torch.Tensor | None] | None = None


class ProxyContext:
    """A network, one minibatch and a seed, with the passes shared between proxies.

    The network is used as given (its mode is restored afterwards); proxies that change
    weights or precision (``synflow``, ``zen``) work on a copy.

    Args:
        network: The untrained network.
        batch: ``(inputs, targets)``.
        needs: The union of the parts of the shared pass the requested proxies read.
        seed: Seed of the proxies' own random draws.
    """

    def __init__(
        self,
        network: nn.Module,
        batch: tuple[torch.Tensor, torch.Tensor],
        *,
        needs: Iterable[str] = (),
        seed: int = 0,
    ) -> None:
        inputs, targets = batch
        if inputs.ndim < 2 or len(inputs) < 2:
            raise ValueError(
                f"The proxies need a minibatch of at least 2 examples, but got inputs of shape "
                f"{tuple(inputs.shape)}."
            )
        if len(targets) != len(inputs):
            raise ValueError(
                f"The batch must have one target per input, but got {len(targets)} targets "
                f"for {len(inputs)} inputs."
            )

        device = next(network.parameters()).device
        self.network = network
        self.inputs = inputs.to(device=device, dtype=torch.float32)
        self.targets = targets.to(device=device, dtype=torch.long)
        self.needs = frozenset(needs)
        self.seed = seed
        self._shared: SharedPass | None = None
        self._degenerate: bool | None = None

    @property
    def layers(self) -> list[nn.Module]:
        """The prunable layers of the network."""
        return prunable_layers(self.network)

    @property
    def degenerate(self) -> bool:
        """Whether the network's output ignores its input (e.g. cells that are all ``none``).

        Decided from a cheap evaluation-mode pass on a few examples: the outputs of different
        inputs are equal up to rounding.
        """
        if self._degenerate is None:
            was_training = self.network.training
            self.network.eval()
            try:
                with torch.no_grad():
                    outputs = self.network(self.inputs[:4]).double()
            finally:
                self.network.train(was_training)
            spread = (outputs - outputs[:1]).abs().max().item()
            scale = outputs.abs().max().item()
            self._degenerate = not math.isfinite(spread) or spread <= 1e-9 * (1.0 + scale)
        return self._degenerate

    def shared(self) -> SharedPass:
        """Run (once) the training-mode pass the requested proxies share, and return it.

        One forward pass in training mode (batch statistics, as every gradient proxy's paper
        does) records the ReLU codes and the prunable layers' outputs; the input Jacobian of
        the summed outputs and the cross-entropy gradients of the weights and of those outputs
        then come from backward passes through the same graph.
        """
        if self._shared is not None:
            return self._shared

        network = self.network
        needs = self.needs
        was_training = network.training
        network.train()

        layers = self.layers
        activations: list[torch.Tensor] = []
        kernel: list[torch.Tensor] = []
        handles = []

        if NEED_RELU_CODES in needs:
            size = len(self.inputs)
            kernel.append(torch.zeros(size, size, dtype=torch.float64, device=self.inputs.device))

            def relu_hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
                # Mellor et al.: the binary code of each example is which units are active.
                codes = (args[0].detach() > 0).flatten(1).float()
                # Units minus the Hamming distance, n - s_i - s_j + 2 c_i . c_j, in one
                # matmul (integer counts below 2**24 are exact in float32).
                active = codes.sum(1, dtype=torch.float64)
                both = (codes @ codes.T).double()
                kernel[0] += codes.shape[1] - active[:, None] - active[None, :] + 2.0 * both

            handles.extend(
                m.register_forward_hook(relu_hook) for m in network.modules() if _is_relu(m)
            )

        if NEED_FISHER in needs:

            def activation_hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
                activations.append(output)

            handles.extend(layer.register_forward_hook(activation_hook) for layer in layers)

        wants_loss = bool(needs & {NEED_WEIGHT_GRADS, NEED_FISHER, NEED_GRAD_GRAPH})
        second_order = NEED_GRAD_GRAPH in needs
        wants_graph = wants_loss or NEED_JACOBIAN in needs
        inputs = self.inputs.clone().requires_grad_(NEED_JACOBIAN in needs)
        try:
            with torch.set_grad_enabled(wants_graph):
                outputs = network(inputs)
        finally:
            for handle in handles:
                handle.remove()
            network.train(was_training)

        result = SharedPass()
        if kernel:
            result.relu_kernel = kernel[0]

        if NEED_JACOBIAN in needs:
            (jacobian,) = torch.autograd.grad(outputs.sum(), inputs, retain_graph=wants_loss)
            result.jacobian = jacobian.detach().flatten(1)

        if wants_loss:
            loss = nn.functional.cross_entropy(outputs, self.targets)
            weights = [layer.weight for layer in layers]
            sources = weights + activations
            grads = torch.autograd.grad(
                loss, sources, allow_unused=True, create_graph=second_order
            )
            if second_order:
                result.grad_graph = list(grads[: len(weights)])
            pairs = zip(sources, grads, strict=True)
            grads = [torch.zeros_like(s) if g is None else g.detach() for s, g in pairs]
            result.weight_grads = grads[: len(weights)]
            if NEED_FISHER in needs:
                fan_ins = [w[0].numel() for w in weights]
                result.fisher = _fisher(activations, grads[len(weights) :], fan_ins)

        self._shared = result
        return result


def _is_relu(module: nn.Module) -> bool:
    return isinstance(module, nn.ReLU)


def _fisher(
    activations: Sequence[torch.Tensor], grads: Sequence[torch.Tensor], fan_ins: Sequence[int]
) -> float:
    # Theis et al. 2018 / Turner et al. 2020: a channel's saliency is half the mean over the
    # batch of the squared sum over positions of activation times gradient. As Abdelfattah et
    # al. score it, each channel's saliency counts once per weight of that output channel
    # (its fan-in), so a layer adds its summed saliency times its fan-in.
    total = 0.0
    for activation, grad, fan_in in zip(activations, grads, fan_ins, strict=True):
        product = activation.detach() * grad
        per_channel = product.flatten(2).sum(2) if product.ndim > 2 else product
        total += fan_in * float(per_channel.pow(2).mean(0).mul(0.5).sum())
    return total
