from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from optuna_nas.proxies import ProxyContext
from optuna_nas.proxies._activation import jacob_cov
from optuna_nas.proxies._activation import nwot


def test_nwot_kernel_counts_agreeing_units() -> None:
    network = nn.Sequential(nn.Linear(2, 3, bias=False), nn.ReLU(), nn.Linear(3, 2))
    with torch.no_grad():
        network[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    inputs = torch.tensor([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0]])
    context = ProxyContext(network, (inputs, torch.zeros(3)), needs={"relu_codes"})

    # codes: [1,1,1], [0,1,0], [0,0,0]; K = units minus Hamming distance.
    expected = torch.tensor([[3.0, 1.0, 0.0], [1.0, 3.0, 2.0], [0.0, 2.0, 3.0]])
    assert torch.equal(context.shared().relu_kernel, expected.double())
    assert nwot(context) == pytest.approx(math.log(abs(torch.linalg.det(expected).item())))


def test_jacob_cov_prefers_uncorrelated_jacobians() -> None:
    inputs = torch.randn(4, 4)
    identity = nn.Sequential(nn.Linear(4, 4, bias=False))
    with torch.no_grad():
        identity[0].weight.copy_(torch.eye(4))

    # A linear network gives every example the same, constant Jacobian: no correlation at
    # all, which scores minus infinity (the registry turns it into the floor).
    same = ProxyContext(identity, (inputs, torch.zeros(4)), needs={"jacobian"})
    assert jacob_cov(same) == float("-inf")

    # An elementwise nonlinearity makes the per-example Jacobians differ.
    varied = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 4))
    torch.manual_seed(0)
    varied_context = ProxyContext(varied, (inputs * 3, torch.zeros(4)), needs={"jacobian"})
    assert jacob_cov(varied_context) > jacob_cov(same)
