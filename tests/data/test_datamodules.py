from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from optuna_nas.data import CIFAR10DataModule
from optuna_nas.data import DigitsDataModule
from optuna_nas.data import NpzDataModule


def test_digits_splits_are_fixed_by_the_seed() -> None:
    first = DigitsDataModule(seed=1)
    again = DigitsDataModule(seed=1)
    other = DigitsDataModule(seed=2)

    sizes = {split: len(first.dataset(split)) for split in ("train", "val", "test")}
    assert sum(sizes.values()) == 1797
    assert sizes["val"] == sizes["test"] == round(1797 * 0.2)
    assert (first.in_channels, first.image_size, first.num_classes) == (1, 8, 10)
    assert torch.equal(first.dataset("val").tensors[0], again.dataset("val").tensors[0])
    assert not torch.equal(first.dataset("val").tensors[0], other.dataset("val").tensors[0])


def test_training_split_is_normalised_and_batches_are_seeded() -> None:
    data = DigitsDataModule()
    images = data.dataset("train").tensors[0]

    assert abs(float(images.mean())) < 1e-3
    assert abs(float(images.std()) - 1.0) < 1e-2
    assert torch.equal(data.batch(16, seed=3)[0], data.batch(16, seed=3)[0])
    assert next(iter(data.train_dataloader()))[0].shape == (64, 1, 8, 8)


def test_npz_channels_last(tmp_path: Path) -> None:
    path = tmp_path / "images.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.integers(0, 255, (50, 12, 12, 3), dtype=np.uint8), y=np.arange(50) % 5)

    data = NpzDataModule(path=path, batch_size=8)
    assert (data.in_channels, data.image_size, data.num_classes) == (3, 12, 5)
    assert len(data.dataset("train")) == 30


def test_npz_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        NpzDataModule(path=tmp_path / "missing.npz")

    path = tmp_path / "bad.npz"
    np.savez(path, images=np.zeros((4, 8, 8)))
    with pytest.raises(ValueError, match=r"lacks \['x', 'y'\]"):
        NpzDataModule(path=path).setup()


def test_bad_fractions_are_refused() -> None:
    with pytest.raises(ValueError, match="`val_fraction`"):
        DigitsDataModule(val_fraction=1.5)
    with pytest.raises(ValueError, match="below 1"):
        DigitsDataModule(val_fraction=0.6, test_fraction=0.5)


def test_cifar10_from_python_batches(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            b"data": rng.integers(0, 255, (20, 3 * 32 * 32), dtype=np.uint8),
            b"labels": list(rng.integers(0, 10, 20)),
        }
        with open(tmp_path / name, "wb") as handle:
            pickle.dump(batch, handle)

    data = CIFAR10DataModule(path=tmp_path, val_fraction=0.1)
    assert len(data.dataset("test")) == 20
    assert len(data.dataset("train")) + len(data.dataset("val")) == 100
    assert (data.in_channels, data.image_size) == (3, 32)


def test_cifar10_missing_says_where_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="cifar-10-python.tar.gz"):
        CIFAR10DataModule(path=tmp_path)
