"""Score the architectures of a search space on one fixed, seeded minibatch."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import torch

from optuna_nas.proxies._ensemble import DEFAULT_ENSEMBLE
from optuna_nas.proxies._ensemble import ensemble_scores
from optuna_nas.proxies._registry import ENSEMBLE
from optuna_nas.proxies._registry import expand
from optuna_nas.proxies._registry import score
from optuna_nas.spaces import Architecture
from optuna_nas.spaces import SearchSpace

_logger = logging.getLogger(__name__)

#: Proxies that read only the shape of the minibatch, not its values or labels.
DATA_FREE_PROXIES: tuple[str, ...] = ("synflow", "zen", "params", "flops")


def minibatch(
    datamodule: Any, *, batch_size: int = 64, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return one seeded training minibatch of a datamodule.

    Args:
        datamodule: A LightningDataModule of :mod:`optuna_nas.data` (its ``batch`` method is
            used) or any datamodule with ``setup()`` and ``train_dataloader()``.
        batch_size: The number of examples.
        seed: The seed of the draw.
    """
    if batch_size < 2:
        raise ValueError(f"`batch_size` must be at least 2, but got {batch_size}.")

    if hasattr(datamodule, "batch"):
        inputs, targets = datamodule.batch(batch_size, split="train", seed=seed)
        return inputs, targets

    datamodule.setup("fit")
    images: list[torch.Tensor] = []
    labels: list[torch.Tensor] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for inputs, targets in datamodule.train_dataloader():
            images.append(inputs)
            labels.append(targets)
            if sum(len(x) for x in images) >= batch_size:
                break
    if not images:
        raise ValueError(f"The datamodule {datamodule!r} has no training examples.")
    return torch.cat(images)[:batch_size], torch.cat(labels)[:batch_size]


class ProxyScorer:
    """Score architectures of a space with one proxy or the rank ensemble.

    Every network is built under the same seed (so two runs give the same scores) and scored on
    the same minibatch; scores are cached by isomorphism class, since isomorphic cells compute
    the same function.

    Args:
        search_space: The space of the architectures.
        proxy: A registered proxy name, or ``"ensemble"``.
        ensemble: The member proxies of the ensemble.
        batch: The minibatch ``(inputs, targets)``; or give ``datamodule``.
        datamodule: A datamodule to draw the minibatch from (lazily, on the first score).
        batch_size: The minibatch size drawn from ``datamodule``.
        in_channels: Input channels of the networks (default: the data's).
        num_classes: Outputs of the networks (default: the datamodule's, else the largest
            target plus one).
        seed: Seed of the minibatch, the networks' initialisation and the proxies' draws.
        device: Where networks are scored.

    Example:
        >>> import torch
        >>> from optuna_nas import NASBench201Space
        >>> from optuna_nas.proxies import ProxyScorer
        >>> space = NASBench201Space(channels=4, cells_per_stage=1)
        >>> batch = (torch.randn(8, 3, 8, 8), torch.arange(8) % 10)
        >>> scorer = ProxyScorer(search_space=space, proxy="ensemble", batch=batch)
        >>> values = scorer.rank([space.sample(0), space.sample(1), space.sample(2)])
        >>> len(values)
        3
    """

    def __init__(
        self,
        *,
        search_space: SearchSpace,
        proxy: str = "nwot",
        ensemble: Sequence[str] = DEFAULT_ENSEMBLE,
        batch: tuple[torch.Tensor, torch.Tensor] | None = None,
        datamodule: Any = None,
        batch_size: int = 64,
        in_channels: int | None = None,
        num_classes: int | None = None,
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        if batch is None and datamodule is None:
            raise ValueError("A ProxyScorer needs a `batch` or a `datamodule`, but got neither.")
        if batch_size < 2:
            raise ValueError(f"`batch_size` must be at least 2, but got {batch_size}.")

        self.search_space = search_space
        self.proxy = proxy
        self.ensemble = tuple(ensemble)
        self.members = expand([proxy], self.ensemble)
        self.datamodule = datamodule
        self.batch_size = batch_size
        self.seed = seed
        self.device = torch.device(device)
        self._batch = batch
        self._in_channels = in_channels
        self._num_classes = num_classes
        self._cache: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def data_free(
        cls,
        *,
        search_space: SearchSpace,
        proxy: str = "synflow",
        image_size: int = 16,
        in_channels: int = 3,
        num_classes: int = 10,
        batch_size: int = 4,
        seed: int = 0,
        device: str = "cpu",
    ) -> ProxyScorer:
        """Return a scorer of a proxy that reads no data, on a seeded Gaussian minibatch.

        The proxies of :data:`DATA_FREE_PROXIES` use only the minibatch's shape (synflow runs
        on an all-ones input, zen on Gaussian inputs), so they rank architectures before any
        dataset is at hand, e.g. to warm-start a sampler.

        Args:
            search_space: The space of the architectures.
            proxy: One of :data:`DATA_FREE_PROXIES`.
            image_size: Height and width of the inputs.
            in_channels: Input channels of the networks.
            num_classes: Outputs of the networks.
            batch_size: Examples of the Gaussian minibatch.
            seed: Seed of the minibatch and of the networks' initialisation.
            device: Where networks are scored.
        """
        if proxy not in DATA_FREE_PROXIES:
            raise ValueError(
                f"`proxy` must be a data-free proxy, one of {list(DATA_FREE_PROXIES)}, but got "
                f"{proxy!r}."
            )
        if image_size < 1:
            raise ValueError(f"`image_size` must be a positive integer, but got {image_size}.")
        if batch_size < 2:
            raise ValueError(f"`batch_size` must be at least 2, but got {batch_size}.")

        # Gaussian rather than constant inputs: a constant batch would look like a network
        # that ignores its input and score every architecture as degenerate.
        generator = torch.Generator().manual_seed(seed)
        inputs = torch.randn(batch_size, in_channels, image_size, image_size, generator=generator)
        targets = torch.arange(batch_size) % num_classes
        return cls(
            search_space=search_space,
            proxy=proxy,
            batch=(inputs, targets),
            num_classes=num_classes,
            seed=seed,
            device=device,
        )

    def __call__(self, arch: Architecture) -> float:
        """Return the proxy score of ``arch``, as :meth:`score` (a single proxy only)."""
        return self.score(arch)

    @property
    def is_ensemble(self) -> bool:
        """Whether the scorer ranks with the ensemble."""
        return self.proxy == ENSEMBLE

    @property
    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The minibatch every network is scored on."""
        if self._batch is None:
            self._batch = minibatch(self.datamodule, batch_size=self.batch_size, seed=self.seed)
        return self._batch

    @property
    def in_channels(self) -> int:
        """Input channels of the networks."""
        if self._in_channels is None:
            self._in_channels = int(self.batch[0].shape[1])
        return self._in_channels

    @property
    def num_classes(self) -> int:
        """Outputs of the networks."""
        if self._num_classes is None:
            known = getattr(self.datamodule, "num_classes", None)
            self._num_classes = int(known) if known else int(self.batch[1].max()) + 1
        return self._num_classes

    def build(self, arch: Architecture) -> torch.nn.Module:
        """Build the untrained network of ``arch`` under the scorer's seed."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            network = self.search_space.build(
                arch, in_channels=self.in_channels, num_classes=self.num_classes
            )
        return network.to(self.device)

    def member_scores(self, arch: Architecture) -> dict[str, float]:
        """Return the score of ``arch`` under every member proxy (cached by isomorphism)."""
        key = self.search_space.isomorphism_key(arch)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return dict(cached)

        network = self.build(arch)
        scores = score(network, self.batch, self.members, seed=self.seed)
        with self._lock:
            self._cache[key] = scores
        _logger.debug("Scored %s: %s.", arch, scores)
        return dict(scores)

    def score(self, arch: Architecture) -> float:
        """Return the proxy score of ``arch`` (a single proxy only)."""
        if self.is_ensemble:
            raise ValueError(
                f"The ensemble ranks several architectures; call `rank`, not `score`, with "
                f"proxy={self.proxy!r}."
            )
        return self.member_scores(arch)[self.proxy]

    def rank(self, archs: Sequence[Architecture]) -> list[float]:
        """Return a value per architecture, larger being better.

        The proxy score for a single proxy; for the ensemble, each architecture's mean
        normalised rank among ``archs`` over the member proxies.
        """
        table = [self.member_scores(arch) for arch in archs]
        if not self.is_ensemble:
            return [row[self.proxy] for row in table]
        return ensemble_scores({m: [row[m] for row in table] for m in self.members})
