"""The proxy registry: every zero-cost proxy by name, and :func:`score` to run several at once.

Each proxy is one function of a :class:`~optuna_nas.proxies.ProxyContext` returning a float,
larger meaning better (Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS",
ICLR 2021). The table below lists them explicitly; :func:`register` adds a user's own.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence

import torch
from torch import nn

from optuna_nas.proxies import _activation
from optuna_nas.proxies import _cost
from optuna_nas.proxies import _gradient
from optuna_nas.proxies._context import ENSEMBLE
from optuna_nas.proxies._context import FLOOR
from optuna_nas.proxies._context import NEED_FISHER
from optuna_nas.proxies._context import NEED_GRAD_GRAPH
from optuna_nas.proxies._context import NEED_JACOBIAN
from optuna_nas.proxies._context import NEED_RELU_CODES
from optuna_nas.proxies._context import NEED_WEIGHT_GRADS
from optuna_nas.proxies._context import NEEDS
from optuna_nas.proxies._context import ProxyContext

_logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Proxy:
    """A registered zero-cost proxy: one minibatch in, a float out, larger meaning better.

    Args:
        name: The registry name.
        compute: The proxy as a function of a :class:`ProxyContext`.
        needs: The parts of the shared training-mode pass it reads.
        reference: The paper the proxy comes from.
    """

    name: str
    compute: Callable[[ProxyContext], float]
    needs: frozenset[str]
    reference: str

    def __call__(
        self,
        network: nn.Module,
        batch: tuple[torch.Tensor, torch.Tensor],
        *,
        seed: int = 0,
    ) -> float:
        """Score ``network`` on ``batch`` with this proxy alone."""
        return score(network, batch, [self.name], seed=seed)[self.name]


#: Every proxy by name; :func:`register` adds more.
PROXIES: dict[str, Proxy] = {
    "grad_norm": Proxy(
        "grad_norm",
        _gradient.grad_norm,
        frozenset({NEED_WEIGHT_GRADS}),
        "Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021",
    ),
    "snip": Proxy(
        "snip",
        _gradient.snip,
        frozenset({NEED_WEIGHT_GRADS}),
        "Lee et al., SNIP: Single-shot Network Pruning, ICLR 2019",
    ),
    "grasp": Proxy(
        "grasp",
        _gradient.grasp,
        frozenset({NEED_WEIGHT_GRADS, NEED_GRAD_GRAPH}),
        "Wang et al., Picking Winning Tickets Before Training by Preserving Gradient "
        "Flow, ICLR 2020",
    ),
    "fisher": Proxy(
        "fisher",
        _gradient.fisher,
        frozenset({NEED_FISHER}),
        "Theis et al., Faster gaze prediction with dense networks and Fisher pruning, "
        "2018; Turner et al., BlockSwap, ICLR 2020",
    ),
    "synflow": Proxy(
        "synflow",
        _gradient.synflow,
        frozenset(),
        "Tanaka et al., Pruning neural networks without any data by iteratively "
        "conserving synaptic flow, NeurIPS 2020",
    ),
    "nwot": Proxy(
        "nwot",
        _activation.nwot,
        frozenset({NEED_RELU_CODES}),
        "Mellor et al., Neural Architecture Search without Training, ICML 2021",
    ),
    "jacob_cov": Proxy(
        "jacob_cov",
        _activation.jacob_cov,
        frozenset({NEED_JACOBIAN}),
        "Mellor et al., Neural Architecture Search without Training, arXiv:2006.04647v1",
    ),
    "zen": Proxy(
        "zen",
        _activation.zen,
        frozenset(),
        "Lin et al., Zen-NAS: A Zero-Shot NAS for High-Performance Image Recognition, ICCV 2021",
    ),
    "params": Proxy(
        "params",
        _cost.params,
        frozenset(),
        "Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021",
    ),
    "flops": Proxy(
        "flops",
        _cost.flops,
        frozenset(),
        "Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021",
    ),
}


def register(
    name: str,
    compute: Callable[[ProxyContext], float],
    *,
    needs: Iterable[str] = (),
    reference: str = "",
) -> Proxy:
    """Add a proxy to the registry (the package's own are listed in :data:`PROXIES`).

    Args:
        name: The registry name.
        compute: The proxy as a function of a :class:`ProxyContext`, larger meaning better.
        needs: The parts of the shared pass it reads: ``"weight_grads"``, ``"fisher"``,
            ``"relu_codes"``, ``"jacobian"``, ``"grad_graph"``.
        reference: The paper the proxy comes from.
    """
    needs = frozenset(needs)
    unknown = sorted(needs - NEEDS)
    if unknown:
        raise ValueError(f"`needs` must be a subset of {sorted(NEEDS)}, but got {unknown}.")
    if name == ENSEMBLE:
        raise ValueError(f"The proxy name {ENSEMBLE!r} is reserved for the rank ensemble.")

    proxy = Proxy(name, compute, needs, reference)
    PROXIES[name] = proxy
    return proxy


def available_proxies() -> list[str]:
    """Return the names of the registered proxies (the ensemble excluded)."""
    return sorted(PROXIES)


def get_proxy(name: str) -> Proxy:
    """Return the proxy called ``name``."""
    try:
        return PROXIES[name]
    except KeyError:
        raise ValueError(
            f"Unknown proxy {name!r}; expected one of {available_proxies()}."
        ) from None


def expand(names: Iterable[str], ensemble: Sequence[str] = ()) -> list[str]:
    """Return the registered proxies behind ``names``, the ensemble replaced by its members."""
    result: list[str] = []
    for name in names:
        members = list(ensemble) if name == ENSEMBLE else [name]
        if name == ENSEMBLE and not members:
            raise ValueError("The ensemble needs at least one member proxy, but got none.")
        for member in members:
            get_proxy(member)
            if member not in result:
                result.append(member)
    return result


def score(
    network: nn.Module,
    batch: tuple[torch.Tensor, torch.Tensor],
    names: Sequence[str] | str,
    *,
    seed: int = 0,
) -> dict[str, float]:
    """Score ``network`` with several proxies, sharing their forward and backward passes.

    A degenerate network (its output does not depend on its input, e.g. cells that are all
    ``none``) scores :data:`FLOOR` on every proxy, and a non-finite score becomes
    :data:`FLOOR`, so a score is never NaN and such networks rank last.

    Args:
        network: The untrained network (its weights are left as they were).
        batch: One minibatch ``(inputs, targets)``.
        names: Registered proxy names (the ensemble needs several networks: see
            :func:`optuna_nas.proxies.ensemble_scores`).
        seed: Seed of the proxies' own random draws (``zen``'s Gaussian inputs).

    Returns:
        The score of each name.
    """
    if isinstance(names, str):
        names = [names]
    if ENSEMBLE in names:
        raise ValueError(
            f"{ENSEMBLE!r} ranks several networks; score its members and combine them with "
            "`ensemble_scores`."
        )
    proxies = [get_proxy(name) for name in names]

    needs: set[str] = set()
    for proxy in proxies:
        needs |= proxy.needs
    context = ProxyContext(network, batch, needs=needs, seed=seed)

    if context.degenerate:
        _logger.debug("The network ignores its input; every proxy scores the floor.")
        return {proxy.name: FLOOR for proxy in proxies}

    scores = {}
    for proxy in proxies:
        with torch.random.fork_rng(devices=_devices(network)):
            torch.manual_seed(seed)
            value = float(proxy.compute(context))
        if not math.isfinite(value):
            _logger.debug("Proxy %s gave %s; using the floor.", proxy.name, value)
            value = FLOOR
        scores[proxy.name] = max(value, FLOOR)
    return scores


def _devices(network: nn.Module) -> list[int]:
    device = next(network.parameters()).device
    return [device.index or 0] if device.type == "cuda" else []
