from __future__ import annotations

import math

import pytest
import torch

from optuna_nas.proxies import ENSEMBLE
from optuna_nas.proxies import FLOOR
from optuna_nas.proxies import PROXIES
from optuna_nas.proxies import ProxyContext
from optuna_nas.proxies import available_proxies
from optuna_nas.proxies import expand
from optuna_nas.proxies import get_proxy
from optuna_nas.proxies import register
from optuna_nas.proxies import score

ALL = [
    "fisher",
    "flops",
    "grad_norm",
    "grasp",
    "jacob_cov",
    "nwot",
    "params",
    "snip",
    "synflow",
    "zen",
]


def test_the_ten_proxies_are_registered() -> None:
    assert available_proxies() == ALL
    assert all(PROXIES[name].reference for name in ALL)


@pytest.mark.parametrize("name", ALL)
def test_each_proxy_is_finite_deterministic_and_orders_strong_above_weak(
    build, cells, space, batch, name: str
) -> None:
    strong = get_proxy(name)(build(cells["strong"]), batch, seed=0)
    again = get_proxy(name)(build(cells["strong"]), batch, seed=0)
    weak = get_proxy(name)(build(cells["weak"]), batch, seed=0)

    assert math.isfinite(strong) and strong > FLOOR
    assert strong == again
    assert math.isfinite(weak) and weak > FLOOR
    assert strong > weak


def test_all_none_cell_scores_the_floor_on_every_proxy(build, cells, space, batch) -> None:
    scores = score(build(cells["empty"]), batch, ALL, seed=0)

    assert scores == {name: FLOOR for name in ALL}


def test_shared_passes_give_the_scores_of_separate_runs(build, cells, space, batch) -> None:
    network = build(cells["strong"])
    together = score(network, batch, ALL, seed=3)

    for name in ALL:
        alone = score(network, batch, [name], seed=3)[name]
        assert together[name] == pytest.approx(alone, rel=1e-6)


def test_scoring_leaves_the_weights_and_the_mode_unchanged(build, cells, space, batch) -> None:
    network = build(cells["strong"]).eval()
    before = {k: v.detach().clone() for k, v in network.named_parameters()}

    score(network, batch, ALL, seed=0)

    assert not network.training
    for key, value in before.items():
        assert torch.equal(dict(network.named_parameters())[key], value), key


def test_non_finite_scores_become_the_floor(build, cells, space, batch) -> None:
    register("test_nan", lambda context: float("nan"))
    try:
        assert score(build(cells["strong"]), batch, ["test_nan"]) == {"test_nan": FLOOR}
    finally:
        del PROXIES["test_nan"]


def test_bad_names_and_batches_are_explained(build, cells, space, batch) -> None:
    network = build(cells["strong"])

    with pytest.raises(ValueError, match="Unknown proxy 'nope'"):
        score(network, batch, ["nope"])
    with pytest.raises(ValueError, match="ranks several networks"):
        score(network, batch, [ENSEMBLE])
    with pytest.raises(ValueError, match="at least 2 examples"):
        ProxyContext(network, (batch[0][:1], batch[1][:1]))
    with pytest.raises(ValueError, match="reserved"):
        register(ENSEMBLE, lambda context: 0.0)
    with pytest.raises(ValueError, match="subset of"):
        register("x", lambda context: 0.0, needs=["gradients"])


def test_expand_replaces_the_ensemble_by_its_members() -> None:
    assert expand(["params", ENSEMBLE], ["synflow", "params"]) == ["params", "synflow"]
    with pytest.raises(ValueError, match="at least one member"):
        expand([ENSEMBLE], [])
