"""Training-free evaluation: a zero-cost proxy of the untrained network as the objective."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any

from optuna_nas.evaluators._base import Evaluator
from optuna_nas.proxies import DEFAULT_ENSEMBLE
from optuna_nas.proxies import ProxyScorer
from optuna_nas.proxies import ensemble_percentile

if TYPE_CHECKING:
    import optuna
    import torch

    from optuna_nas.spaces import Architecture
    from optuna_nas.spaces import SearchSpace

_logger = logging.getLogger(__name__)


class ProxyEvaluator(Evaluator):
    """Return a zero-cost proxy score of the untrained network (maximise it).

    Training-free search as in Mellor et al. ("Neural Architecture Search without Training",
    ICML 2021) and Abdelfattah et al. ("Zero-Cost Proxies for Lightweight NAS", ICLR 2021):
    each network is built under ``seed`` and scored on one seeded minibatch, so the same
    architecture always gets the same value.

    A single proxy returns its score. The ensemble returns, averaged over its members, the
    share of a fixed reference population that the architecture beats: ``reference_size``
    architectures drawn from the space under ``seed`` and scored once, on first use. Ranks
    within the study's own trials would change as trials are added; a fixed reference keeps
    the objective stationary.

    Every member score is stored on the trial as a user attribute ``proxy_<name>``, with
    ``proxy_seconds``.

    Args:
        search_space: The space the architectures belong to.
        proxy: A registered proxy name or ``"ensemble"``.
        ensemble: The member proxies of the ensemble.
        reference_size: Architectures in the ensemble's reference population.
        datamodule: The data to draw the minibatch from; or give ``batch``.
        batch: The minibatch ``(inputs, targets)``.
        batch_size: The minibatch size drawn from ``datamodule``.
        in_channels: Input channels of the networks (default: the data's).
        num_classes: Outputs of the networks (default: the data's).
        seed: Seed of the minibatch, the initialisation, the proxies and the reference.
        device: Where networks are scored.
        scorer: A ready :class:`optuna_nas.proxies.ProxyScorer` (e.g. one shared with a
            :class:`optuna_nas.samplers.ZeroCostSampler`, so each cell is scored once);
            replaces the proxy, data and seed arguments above.

    Example:
        >>> import optuna, torch
        >>> from optuna_nas import NASBench201Space
        >>> from optuna_nas.evaluators._proxy import ProxyEvaluator
        >>> space = NASBench201Space(channels=4, cells_per_stage=1)
        >>> batch = (torch.randn(8, 3, 8, 8), torch.arange(8) % 10)
        >>> evaluator = ProxyEvaluator(search_space=space, proxy="nwot", batch=batch)
        >>> study = optuna.create_study(direction="maximize")
        >>> study.optimize(lambda trial: evaluator(trial, space.suggest(trial)), n_trials=2)
    """

    def __init__(
        self,
        *,
        search_space: SearchSpace,
        proxy: str = "nwot",
        ensemble: Sequence[str] = DEFAULT_ENSEMBLE,
        reference_size: int = 32,
        datamodule: Any = None,
        batch: tuple[torch.Tensor, torch.Tensor] | None = None,
        batch_size: int = 64,
        in_channels: int | None = None,
        num_classes: int | None = None,
        seed: int = 0,
        device: str = "cpu",
        scorer: ProxyScorer | None = None,
    ) -> None:
        if reference_size < 1:
            raise ValueError(f"`reference_size` must be at least 1, but got {reference_size}.")

        self.scorer = scorer or ProxyScorer(
            search_space=search_space,
            proxy=proxy,
            ensemble=ensemble,
            batch=batch,
            datamodule=datamodule,
            batch_size=batch_size,
            in_channels=in_channels,
            num_classes=num_classes,
            seed=seed,
            device=device,
        )
        self.reference_size = reference_size
        self._reference: dict[str, list[float]] | None = None
        self._lock = threading.Lock()

    @property
    def proxy(self) -> str:
        """The proxy (or ``"ensemble"``) the evaluator returns."""
        return self.scorer.proxy

    def reference(self) -> dict[str, list[float]]:
        """Return the member scores of the ensemble's reference population (scored once)."""
        with self._lock:
            if self._reference is None:
                rng = random.Random(f"{self.scorer.seed}:reference")
                space = self.scorer.search_space
                archs = [space.sample(rng) for _ in range(self.reference_size)]
                rows = [self.scorer.member_scores(arch) for arch in archs]
                self._reference = {m: [row[m] for row in rows] for m in self.scorer.members}
                _logger.info("Scored the ensemble's reference of %d architectures.", len(archs))
            return self._reference

    def evaluate(self, arch: Architecture) -> tuple[float, dict[str, float]]:
        """Return the value of ``arch`` and its member scores."""
        scores = self.scorer.member_scores(arch)
        if self.scorer.is_ensemble:
            return ensemble_percentile(scores, self.reference()), scores
        return scores[self.proxy], scores

    def __call__(self, trial: optuna.trial.BaseTrial, arch: Architecture) -> float:
        started = time.perf_counter()
        value, scores = self.evaluate(arch)
        seconds = time.perf_counter() - started

        for name, member in scores.items():
            trial.set_user_attr(f"proxy_{name}", member)
        trial.set_user_attr("proxy_seconds", seconds)
        return value
