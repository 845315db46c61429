"""A pruner that stops a trial before it trains when its zero-cost proxy score is low."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any

import numpy as np
from optuna.pruners import BasePruner

from optuna_nas.proxies import DEFAULT_ENSEMBLE
from optuna_nas.proxies import ProxyScorer
from optuna_nas.proxies import ensemble_percentile

if TYPE_CHECKING:
    import optuna
    import torch

    from optuna_nas.spaces import SearchSpace

_logger = logging.getLogger(__name__)

#: The user attribute that holds a trial's proxy score (the ensemble's percentile for it).
SCORE_ATTR = "zero_cost_score"

#: The user attribute that holds a trial's score under every member proxy.
SCORES_ATTR = "zero_cost_scores"


class ZeroCostPruner(BasePruner):
    """Prune a trial before it trains when its proxy score is below a quantile of earlier ones.

    Zero-cost proxies rank untrained networks well enough to discard the weak ones before any
    training (Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021, use them
    to warm up and screen searches the same way). The pruner scores the trial's architecture,
    rebuilt from ``trial.params`` with the space's ``from_params``, on one seeded minibatch,
    and prunes it when the score is below the ``quantile`` of the scores of the study's earlier
    trials (those with a smaller number that carry a score, whatever their state), once at
    least ``n_startup_trials`` of them exist.

    How it is used: after ``space.suggest(trial)``, the objective calls ``trial.should_prune()``
    once before training (at step 0, nothing reported yet) and raises ``optuna.TrialPruned``
    when it returns ``True``; calls during training return the same answer from the stored
    score. The score is written to the trial's storage as the user attribute
    ``zero_cost_score`` (and every member's score as ``zero_cost_scores``) through
    ``study._storage.set_trial_user_attr``, because ``prune`` receives a frozen trial; so a
    pruned trial keeps its score, and other processes sharing the storage see it.

    With the ensemble, the value compared is the mean over member proxies of the share of the
    earlier trials' scores that the trial beats, and the trial is pruned when it is below
    ``quantile``.

    Args:
        search_space: The space whose decisions the trials suggest.
        proxy: A registered proxy name or ``"ensemble"``.
        ensemble: The member proxies of the ensemble.
        quantile: Prune below this quantile of the earlier scores, in ``(0, 1)``.
        n_startup_trials: Never prune while fewer earlier trials carry a score.
        datamodule: The data to draw the minibatch from; or give ``batch``.
        batch: The minibatch ``(inputs, targets)``.
        batch_size: The minibatch size drawn from ``datamodule``.
        in_channels: Input channels of the networks (default: the data's).
        num_classes: Outputs of the networks (default: the data's).
        seed: Seed of the minibatch, the networks' initialisation and the proxies' draws.
        device: Where networks are scored.
        scorer: A ready :class:`optuna_nas.proxies.ProxyScorer` (e.g. one shared with a
            :class:`optuna_nas.samplers.ZeroCostSampler`, so each cell is scored once);
            replaces the proxy, data and seed arguments above.

    Example:
        >>> import optuna, torch
        >>> from optuna_nas import NASBench201Space
        >>> from optuna_nas.pruners import ZeroCostPruner
        >>> space = NASBench201Space(channels=4, cells_per_stage=1)
        >>> batch = (torch.randn(8, 3, 8, 8), torch.arange(8) % 10)
        >>> pruner = ZeroCostPruner(search_space=space, proxy="params", batch=batch)
        >>> def objective(trial):
        ...     arch = space.suggest(trial)
        ...     if trial.should_prune():  # before training
        ...         raise optuna.TrialPruned()
        ...     return 0.0  # train and evaluate ``arch`` here
        >>> study = optuna.create_study(direction="maximize", pruner=pruner)
        >>> study.optimize(objective, n_trials=8)
        >>> all("zero_cost_score" in t.user_attrs for t in study.trials)
        True
    """

    def __init__(
        self,
        *,
        search_space: SearchSpace,
        proxy: str = "nwot",
        ensemble: Sequence[str] = DEFAULT_ENSEMBLE,
        quantile: float = 0.5,
        n_startup_trials: int = 5,
        datamodule: Any = None,
        batch: tuple[torch.Tensor, torch.Tensor] | None = None,
        batch_size: int = 64,
        in_channels: int | None = None,
        num_classes: int | None = None,
        seed: int = 0,
        device: str = "cpu",
        scorer: ProxyScorer | None = None,
    ) -> None:
        if not 0.0 < quantile < 1.0:
            raise ValueError(f"`quantile` must lie in (0, 1), but got {quantile}.")
        if n_startup_trials < 1:
            raise ValueError(f"`n_startup_trials` must be at least 1, but got {n_startup_trials}.")

        self.quantile = quantile
        self.n_startup_trials = n_startup_trials
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

    def prune(self, study: optuna.study.Study, trial: optuna.trial.FrozenTrial) -> bool:
        scores = self._member_scores(study, trial)
        if scores is None:
            return False

        earlier = self._earlier_scores(study, trial.number)
        if len(earlier) < self.n_startup_trials:
            self._store(study, trial, scores, None)
            return False

        if self.scorer.is_ensemble:
            reference = {m: [row[m] for row in earlier] for m in self.scorer.members}
            value = ensemble_percentile(scores, reference)
            threshold = self.quantile
        else:
            value = scores[self.scorer.proxy]
            threshold = float(
                np.quantile([row[self.scorer.proxy] for row in earlier], self.quantile)
            )

        self._store(study, trial, scores, value)
        pruned = value < threshold
        _logger.debug(
            "Trial %d: proxy %s = %.4g, threshold %.4g: %s.",
            trial.number,
            self.scorer.proxy,
            value,
            threshold,
            "prune" if pruned else "keep",
        )
        return pruned

    def _member_scores(
        self, study: optuna.study.Study, trial: optuna.trial.FrozenTrial
    ) -> dict[str, float] | None:
        stored = trial.user_attrs.get(SCORES_ATTR)
        if isinstance(stored, dict) and all(m in stored for m in self.scorer.members):
            return {m: float(stored[m]) for m in self.scorer.members}

        space = self.scorer.search_space
        if any(d.name not in trial.params for d in space.decisions):
            _logger.debug("Trial %d has not suggested a whole architecture yet.", trial.number)
            return None
        arch = space.from_params(trial.params)
        scores = self.scorer.member_scores(arch)
        study._storage.set_trial_user_attr(trial._trial_id, SCORES_ATTR, scores)
        return scores

    def _store(
        self,
        study: optuna.study.Study,
        trial: optuna.trial.FrozenTrial,
        scores: dict[str, float],
        value: float | None,
    ) -> None:
        if value is None:
            # Before the startup trials, a single proxy's score is still worth keeping.
            if self.scorer.is_ensemble:
                return
            value = scores[self.scorer.proxy]
        study._storage.set_trial_user_attr(trial._trial_id, SCORE_ATTR, float(value))

    def _earlier_scores(self, study: optuna.study.Study, number: int) -> list[dict[str, float]]:
        rows = []
        for frozen in study.get_trials(deepcopy=False):
            if frozen.number >= number:
                continue
            stored = frozen.user_attrs.get(SCORES_ATTR)
            if isinstance(stored, dict) and all(m in stored for m in self.scorer.members):
                rows.append({m: float(stored[m]) for m in self.scorer.members})
        return rows
