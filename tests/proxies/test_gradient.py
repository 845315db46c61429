from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from optuna_nas.proxies import ProxyContext
from optuna_nas.proxies import score
from optuna_nas.proxies._gradient import fisher
from optuna_nas.proxies._gradient import snip
from optuna_nas.proxies._gradient import synflow
from optuna_nas.spaces import NASBench201Space


def test_synflow_stays_finite_on_a_deep_network(cells) -> None:
    space = NASBench201Space(channels=4, cells_per_stage=5)  # N=5: 17 cells and blocks deep
    torch.manual_seed(0)
    network = space.build(space.parse(cells["strong"]))
    batch = (torch.randn(2, 3, 8, 8), torch.tensor([0, 1]))

    value = score(network, batch, ["synflow"])["synflow"]

    assert math.isfinite(value) and value > 1e10


def test_synflow_of_a_linear_chain_is_the_path_product() -> None:
    # Without batch norm, R = sum_k |w2_k| * sum_j |w1_kj| * 1, and each |w dR/dw| sums to R.
    network = nn.Sequential(nn.Linear(3, 2, bias=False), nn.BatchNorm1d(2), nn.Linear(2, 1))
    with torch.no_grad():
        network[0].weight.copy_(torch.tensor([[1.0, -2.0, 0.5], [0.0, 1.0, -1.0]]))
        network[2].weight.copy_(torch.tensor([[-3.0, 2.0]]))
        network[2].bias.fill_(-7.0)
    context = ProxyContext(network, (torch.randn(4, 3), torch.zeros(4)))

    paths = 3.0 * 3.5 + 2.0 * 2.0
    assert synflow(context) == paths * 2


def test_snip_sums_weight_times_gradient() -> None:
    network = nn.Sequential(nn.Linear(3, 2))
    inputs, targets = torch.randn(4, 3), torch.tensor([0, 1, 1, 0])
    context = ProxyContext(network, (inputs, targets), needs={"weight_grads"})

    loss = nn.functional.cross_entropy(network(inputs), targets)
    (grad,) = torch.autograd.grad(loss, [network[0].weight])
    expected = (network[0].weight * grad).abs().sum().item()
    assert snip(context) == expected


def test_fisher_counts_each_channel_saliency_once_per_weight_of_the_channel() -> None:
    torch.manual_seed(0)
    network = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    inputs, targets = torch.randn(5, 3), torch.tensor([0, 1, 1, 0, 1])
    context = ProxyContext(network, (inputs, targets), needs={"fisher"})

    hidden = network[0](inputs)
    outputs = network[2](network[1](hidden))
    loss = nn.functional.cross_entropy(outputs, targets)
    grads = torch.autograd.grad(loss, [hidden, outputs])
    # Saliency of a unit: half the batch mean of (activation * gradient)^2; fan-ins 3 and 4.
    pairs = zip((hidden, outputs), grads, strict=True)
    saliencies = [(a * g).pow(2).mean(0).mul(0.5).sum() for a, g in pairs]
    expected = 3 * saliencies[0].item() + 4 * saliencies[1].item()
    assert fisher(context) == pytest.approx(expected, rel=1e-5)
