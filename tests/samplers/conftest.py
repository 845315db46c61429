"""Fixtures of the sampler tests (the checks themselves are in ``sampler_checks``)."""

from __future__ import annotations

import optuna
import pytest
from sampler_checks import ToySpace

from optuna_nas.spaces import NASBench201Space


@pytest.fixture
def toy_space() -> ToySpace:
    return ToySpace()


@pytest.fixture
def nb201() -> NASBench201Space:
    return NASBench201Space()


@pytest.fixture(autouse=True)
def _quiet_optuna() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
