"""Shared fixtures: small spaces, generated tables and the optional shared data folder."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from optuna_nas.data import DigitsDataModule
from optuna_nas.spaces import NASBench201Space

#: ``../shared`` beside the checkout: development data, absent on a user's machine.
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
NB201_TABLE = SHARED / "benchmarks" / "nb201_cifar10.csv"


@pytest.fixture
def space() -> NASBench201Space:
    """A NAS-Bench-201 space small enough to train on a CPU in a test."""
    return NASBench201Space(channels=4, cells_per_stage=1)


@pytest.fixture
def digits() -> DigitsDataModule:
    """A small digits data module for quick supernet and sampler runs."""
    return DigitsDataModule(batch_size=32, limit=300)


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    """One seeded minibatch of eight 8x8 RGB images with labels 0..7."""
    generator = torch.Generator().manual_seed(0)
    return torch.randn(8, 3, 8, 8, generator=generator), torch.arange(8) % 10


@pytest.fixture
def small_table(tmp_path: Path) -> Path:
    """A generated table over the whole NAS-Bench-201 space with a known optimum.

    The value counts convolutions and penalises ``none``, so it has structure to find.
    """
    space = NASBench201Space()
    path = tmp_path / "table.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["index", "arch", "test_accuracy"])
        for index, arch in enumerate(space):
            score = sum(
                2.0 if "conv" in op else 1.0 if op != "none" else 0.0 for op in arch.choices
            )
            writer.writerow([index, str(arch), 80.0 + score])
    return path


@pytest.fixture
def nb201_table() -> Path:
    """The real NAS-Bench-201 CIFAR-10 table; skips when ``../shared`` is absent."""
    if not NB201_TABLE.is_file():
        pytest.skip("The shared NAS-Bench-201 table is not available.")
    return NB201_TABLE
