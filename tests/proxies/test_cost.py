from __future__ import annotations

import torch
from torch import nn

from optuna_nas.proxies import ProxyContext
from optuna_nas.proxies._cost import flops
from optuna_nas.proxies._cost import params


def test_params_and_flops_of_a_linear_layer() -> None:
    network = nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2, bias=False))
    network[2].weight.requires_grad_(False)
    context = ProxyContext(network, (torch.randn(4, 5), torch.zeros(4)))

    assert params(context) == 5 * 3 + 3
    assert flops(context) == 2 * (5 * 3 + 3 * 2)  # one example, a multiply-add is two
