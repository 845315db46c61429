"""A sampler that screens candidate architectures with zero-cost proxies."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any

from optuna.samplers import BaseSampler

from optuna_nas.proxies import SEARCH_ENSEMBLE
from optuna_nas.proxies import ProxyScorer
from optuna_nas.samplers._base import ArchitectureSampler
from optuna_nas.samplers._base import History
from optuna_nas.spaces import Architecture
from optuna_nas.spaces import SearchSpace

if TYPE_CHECKING:
    import torch
    from optuna.study import Study
    from optuna.trial import FrozenTrial

_logger = logging.getLogger(__name__)

#: The user attribute that holds the proxy score of a trial's architecture.
SCORE_ATTR = "zero_cost_score"


class ZeroCostSampler(ArchitectureSampler):
    """Propose, per trial, the best of ``n_candidates`` architectures under a zero-cost proxy.

    Each trial draws ``n_candidates`` architectures (uniformly, or from ``base_sampler``),
    drops those isomorphic to an architecture the study has already seen, scores the rest on
    one seeded minibatch with a proxy or the rank ensemble, and proposes the best. This is the
    training-free search of Mellor et al. ("Neural Architecture Search without Training",
    ICML 2021: NASWOT scores N random cells and keeps the best) and Abdelfattah et al.
    ("Zero-Cost Proxies for Lightweight NAS", ICLR 2021), run as an Optuna sampler so that the
    chosen cells can still be trained and compared by the study.

    The chosen candidate's score is stored on the trial as the user attribute
    ``zero_cost_score`` (its ensemble value among the screened candidates for the ensemble).
    Candidates come from a per-trial generator seeded by ``(seed, trial.number)``, and scores
    are cached by isomorphism class, so a resumed study proposes what one run would.

    Args:
        search_space: The space to search.
        seed: Seed of the candidates, the minibatch, the networks' initialisation and the
            proxies' draws.
        proxy: A registered proxy name or ``"ensemble"``.
        n_candidates: Architectures screened per trial.
        ensemble: The member proxies of the ensemble (by default
            :data:`optuna_nas.proxies.SEARCH_ENSEMBLE`, chosen for its top-ranked cells).
        base_sampler: A sampler asked ``n_candidates`` times per trial for candidates (a random
            sampler such as ``RandomSampler`` or ``TPESampler`` gives different ones each
            time); uniform sampling when ``None``.
        datamodule: The data to draw the minibatch from; or give ``batch``.
        batch: The minibatch ``(inputs, targets)``.
        batch_size: The minibatch size drawn from ``datamodule``.
        in_channels: Input channels of the networks (default: the data's).
        num_classes: Outputs of the networks (default: the data's).
        scorer: A ready :class:`optuna_nas.proxies.ProxyScorer` (shares its cache); replaces
            ``proxy``, ``ensemble``, the data and network arguments.

    Example:
        >>> import optuna, torch
        >>> from optuna_nas import NASBench201Space
        >>> from optuna_nas.samplers import ZeroCostSampler
        >>> space = NASBench201Space(channels=4, cells_per_stage=1)
        >>> batch = (torch.randn(8, 3, 8, 8), torch.arange(8) % 10)
        >>> sampler = ZeroCostSampler(
        ...     search_space=space, seed=0, proxy="synflow", n_candidates=4, batch=batch
        ... )
        >>> study = optuna.create_study(direction="maximize", sampler=sampler)
        >>> study.optimize(lambda trial: len(str(space.suggest(trial))), n_trials=1)
        >>> "zero_cost_score" in study.trials[0].user_attrs
        True
    """

    def __init__(
        self,
        *,
        search_space: SearchSpace,
        seed: int | None = None,
        proxy: str = "ensemble",
        n_candidates: int = 100,
        ensemble: Sequence[str] = SEARCH_ENSEMBLE,
        base_sampler: BaseSampler | None = None,
        datamodule: Any = None,
        batch: tuple[torch.Tensor, torch.Tensor] | None = None,
        batch_size: int = 64,
        in_channels: int | None = None,
        num_classes: int | None = None,
        scorer: ProxyScorer | None = None,
    ) -> None:
        super().__init__(search_space=search_space, seed=seed)
        if n_candidates < 1:
            raise ValueError(f"`n_candidates` must be at least 1, but got {n_candidates}.")
        if base_sampler is not None and not isinstance(base_sampler, BaseSampler):
            raise TypeError(
                f"`base_sampler` must be an Optuna sampler or None, but got {base_sampler!r}."
            )

        self.n_candidates = n_candidates
        self.base_sampler = base_sampler
        self.scorer = scorer or ProxyScorer(
            search_space=search_space,
            proxy=proxy,
            ensemble=ensemble,
            batch=batch,
            datamodule=datamodule,
            batch_size=batch_size,
            in_channels=in_channels,
            num_classes=num_classes,
            seed=self.seed,
        )

    def reseed_rng(self) -> None:
        super().reseed_rng()
        if self.base_sampler is not None:
            self.base_sampler.reseed_rng()

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        if self.base_sampler is not None:
            self.base_sampler.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: Any,
        values: Sequence[float] | None,
    ) -> None:
        if self.base_sampler is not None:
            self.base_sampler.after_trial(study, trial, state, values)

    def _propose(
        self, study: Study, trial: FrozenTrial, history: History, rng: random.Random
    ) -> Architecture:
        candidates = self._candidates(study, trial, rng)

        unseen: dict[str, Architecture] = {}
        for arch in candidates:
            key = self.search_space.isomorphism_key(arch)
            if key not in history.seen_keys and key not in unseen:
                unseen[key] = arch
        if not unseen:
            fallback = self.random_unseen(history, rng)
            if fallback is None:
                _logger.info("Every architecture of the space has been seen; repeating one.")
                fallback = candidates[0]
            unseen[self.search_space.isomorphism_key(fallback)] = fallback

        archs = list(unseen.values())
        values = self.scorer.rank(archs)
        best = max(range(len(archs)), key=lambda i: values[i])
        chosen = archs[best]

        study._storage.set_trial_user_attr(trial._trial_id, SCORE_ATTR, float(values[best]))
        _logger.debug(
            "Trial %d: %s scores %.4g, the best of %d unseen candidates.",
            trial.number,
            chosen,
            values[best],
            len(archs),
        )
        return chosen

    def _candidates(
        self, study: Study, trial: FrozenTrial, rng: random.Random
    ) -> list[Architecture]:
        if self.base_sampler is None:
            return self.random_candidates(rng, self.n_candidates)

        distributions = self.search_space.distributions()
        candidates = []
        for _ in range(self.n_candidates):
            relative_space = self.base_sampler.infer_relative_search_space(study, trial)
            relative_space = {k: v for k, v in relative_space.items() if k in distributions}
            params = dict(self.base_sampler.sample_relative(study, trial, relative_space))
            for name, distribution in distributions.items():
                if name not in params:
                    params[name] = self.base_sampler.sample_independent(
                        study, trial, name, distribution
                    )
            candidates.append(self.search_space.from_params(params))
        return candidates
