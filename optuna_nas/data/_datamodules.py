"""Image classification data as LightningDataModules with fixed, seeded splits."""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader
from torch.utils.data import TensorDataset

_logger = logging.getLogger(__name__)

_SPLITS = ("train", "val", "test")


class ArrayDataModule(pl.LightningDataModule):
    """A data set held in memory as arrays, split into train, validation and test once.

    Subclasses load ``(images, labels)`` with images as ``(N, C, H, W)`` floats; this class
    normalises each channel with the training split's statistics and splits the data with a
    seeded permutation, so the same seed always gives the same three splits.

    Args:
        batch_size: Minibatch size of every loader.
        val_fraction: Share of the examples held out for validation.
        test_fraction: Share held out for testing (ignored where the data set has its own
            test split).
        seed: Seed of the split and of the training loader's shuffling.
        limit: Keep only the first ``limit`` examples of the training pool (quick runs).
        num_workers: Workers of each loader.
    """

    def __init__(
        self,
        *,
        batch_size: int = 64,
        val_fraction: float = 0.2,
        test_fraction: float = 0.2,
        seed: int = 0,
        limit: int | None = None,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive integer, but got {batch_size}.")
        for name, fraction in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
            if not 0.0 <= fraction < 1.0:
                raise ValueError(f"`{name}` must lie in [0, 1), but got {fraction}.")
        if val_fraction + test_fraction >= 1.0:
            raise ValueError(
                f"`val_fraction` + `test_fraction` must be below 1, but got "
                f"{val_fraction} + {test_fraction}."
            )
        if limit is not None and limit < 2:
            raise ValueError(f"`limit` must be at least 2 or None, but got {limit}.")

        self.batch_size = batch_size
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction
        self.seed = seed
        self.limit = limit
        self.num_workers = num_workers
        self._datasets: dict[str, TensorDataset] | None = None

    def _load(self) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """Return training images, training labels, and the data set's own test split."""
        raise NotImplementedError

    def check(self) -> None:
        """Raise a clear error now if the data cannot be found (before any work is done)."""

    def setup(self, stage: str | None = None) -> None:
        if self._datasets is not None:
            return

        images, labels, own_test = self._load()
        if self.limit is not None:
            images, labels = images[: self.limit], labels[: self.limit]

        order = np.random.default_rng(self.seed).permutation(len(images))
        n_val = round(len(images) * self.val_fraction)
        n_test = 0 if own_test is not None else round(len(images) * self.test_fraction)
        parts = {
            "val": order[:n_val],
            "test": order[n_val : n_val + n_test],
            "train": order[n_val + n_test :],
        }

        train = images[parts["train"]]
        mean = train.mean(axis=(0, 2, 3), keepdims=True)
        std = train.std(axis=(0, 2, 3), keepdims=True) + 1e-6

        def tensors(x: np.ndarray, y: np.ndarray) -> TensorDataset:
            x = ((x - mean) / std).astype(np.float32)
            return TensorDataset(torch.from_numpy(x), torch.from_numpy(y.astype(np.int64)))

        self._datasets = {name: tensors(images[idx], labels[idx]) for name, idx in parts.items()}
        if own_test is not None:
            self._datasets["test"] = tensors(*own_test)
        self._num_classes = int(labels.max()) + 1
        _logger.debug(
            "Split %s into %s examples.",
            type(self).__name__,
            {name: len(ds) for name, ds in self._datasets.items()},
        )

    def dataset(self, split: str) -> TensorDataset:
        """Return the tensors of ``split`` (``train``, ``val`` or ``test``)."""
        if split not in _SPLITS:
            raise ValueError(f"`split` must be one of {list(_SPLITS)}, but got {split!r}.")
        self.setup()
        assert self._datasets is not None
        return self._datasets[split]

    @property
    def in_channels(self) -> int:
        """Channels of the images."""
        return int(self.dataset("train").tensors[0].shape[1])

    @property
    def image_size(self) -> int:
        """Height (and width) of the images."""
        return int(self.dataset("train").tensors[0].shape[2])

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        self.setup()
        return self._num_classes

    def batch(
        self, size: int | None = None, *, split: str = "train", seed: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return one seeded random minibatch of ``split`` (e.g. for zero-cost proxies)."""
        images, labels = self.dataset(split).tensors
        size = min(size or self.batch_size, len(images))
        generator = torch.Generator().manual_seed(seed)
        index = torch.randperm(len(images), generator=generator)[:size]
        return images[index], labels[index]

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed) if shuffle else None
        return DataLoader(
            self.dataset(split),
            batch_size=self.batch_size,
            shuffle=shuffle,
            generator=generator,
            num_workers=self.num_workers,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)


class DigitsDataModule(ArrayDataModule):
    """scikit-learn's bundled 8x8 handwritten digits: 1,797 grey images of 10 classes.

    It ships with scikit-learn, so it needs no download; a quick, real data set for CPUs.
    """

    def _load(self) -> tuple[np.ndarray, np.ndarray, None]:
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = digits.images.astype(np.float32)[:, None, :, :] / 16.0
        return images, digits.target.astype(np.int64), None


class NpzDataModule(ArrayDataModule):
    """Images from an ``.npz`` file with arrays ``x`` (images) and ``y`` (integer labels).

    ``x`` may be ``(N, H, W, C)`` (channels last, as most image dumps are), ``(N, C, H, W)``
    with ``C`` in 1..4, or ``(N, H, W)`` for grey images; ``uint8`` images are scaled to
    [0, 1].

    Args:
        path: The ``.npz`` file.
        kwargs: See :class:`ArrayDataModule`.
    """

    def __init__(self, *, path: str | os.PathLike[str], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.path = Path(path)
        self.check()

    def check(self) -> None:
        if not self.path.is_file():
            raise FileNotFoundError(
                f"`dataset.path` must be an existing .npz file with arrays x and y, but "
                f"{str(self.path)!r} does not exist."
            )

    def _load(self) -> tuple[np.ndarray, np.ndarray, None]:
        self.check()
        with np.load(self.path, allow_pickle=False) as archive:
            missing = {"x", "y"} - set(archive.files)
            if missing:
                raise ValueError(
                    f"The file {str(self.path)!r} must hold arrays x and y, but lacks "
                    f"{sorted(missing)} (it has {archive.files})."
                )
            images, labels = archive["x"], archive["y"]
        return _to_nchw(images, str(self.path)), labels.astype(np.int64).reshape(-1), None


class CIFAR10DataModule(ArrayDataModule):
    """CIFAR-10 from a local folder of the standard python batches.

    The folder holds ``data_batch_1`` ... ``data_batch_5`` and ``test_batch`` (the
    ``cifar-10-batches-py`` folder of the archive from https://www.cs.toronto.edu/~kriz/).
    Validation is split off the 50,000 training images; the test split is the official one.

    Args:
        path: The folder with the batches.
        kwargs: See :class:`ArrayDataModule`.
    """

    _BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))

    def __init__(self, *, path: str | os.PathLike[str], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.path = Path(path)
        self.check()

    def check(self) -> None:
        missing = [n for n in (*self._BATCHES, "test_batch") if not (self.path / n).is_file()]
        if missing:
            raise FileNotFoundError(
                f"`dataset.path` must be a folder with the CIFAR-10 python batches, but "
                f"{str(self.path)!r} lacks {missing}; download cifar-10-python.tar.gz from "
                f"https://www.cs.toronto.edu/~kriz/cifar.html and extract it there."
            )

    def _read(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        # The official batches are Python pickles of plain arrays and lists (no code objects).
        with open(self.path / name, "rb") as handle:
            batch = pickle.load(handle, encoding="bytes")
        images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        return images.astype(np.float32) / 255.0, np.asarray(batch[b"labels"], dtype=np.int64)

    def _load(self) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
        self.check()
        parts = [self._read(name) for name in self._BATCHES]
        images = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])
        return images, labels, self._read("test_batch")


def _to_nchw(images: np.ndarray, source: str) -> np.ndarray:
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    images = images.astype(np.float32) / scale
    if images.ndim == 3:
        return images[:, None]
    if images.ndim == 4 and images.shape[-1] in (1, 3, 4):
        return np.ascontiguousarray(images.transpose(0, 3, 1, 2))
    if images.ndim == 4 and images.shape[1] in (1, 3, 4):
        return images
    raise ValueError(
        f"The images in {source!r} must have shape (N, H, W, C), (N, C, H, W) or (N, H, W), "
        f"but got {images.shape}."
    )
