"""Differentiable architecture search (DARTS, and GDAS against its collapse) as a sampler."""

from __future__ import annotations

import itertools
import logging
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING
from typing import Any

import numpy as np
import torch

from optuna_nas.samplers._oneshot import OneShotSampler
from optuna_nas.spaces import NB201_OPS

if TYPE_CHECKING:
    import os

    from optuna.study import Study
    from optuna.trial import FrozenTrial

    from optuna_nas.data import ArrayDataModule
    from optuna_nas.samplers._base import History
    from optuna_nas.spaces import Architecture
    from optuna_nas.spaces import SearchSpace

_logger = logging.getLogger(__name__)

#: The anti-collapse remedies :class:`DARTSSampler` offers, and ``"none"`` for plain DARTS.
REMEDIES = {"gdas": "gdas", "darts-": "darts-", "none": "darts"}


class DARTSSampler(OneShotSampler):
    """Differentiable architecture search over NAS-Bench-201, one search stage per trial.

    DARTS (Liu, Simonyan & Yang, "DARTS: Differentiable Architecture Search", ICLR 2019)
    relaxes each edge to a softmax-weighted mixture of its ops and solves the bilevel problem
    by alternating steps: the architecture parameters on a validation batch (Adam), the
    weights on a training batch (SGD with momentum, cosine schedule). ``order=1`` is first
    order; ``order=2`` uses the unrolled hypergradient with the finite-difference
    Hessian-vector product.

    Plain DARTS collapses on NAS-Bench-201: the parameter-free skip connection wins every
    edge (Dong & Yang, ICLR 2020, report 54.30% on CIFAR-10 for DARTS-V1 and V2). The
    default remedy is GDAS (Dong & Yang, "Searching for A Robust Neural Architecture in Four
    GPU Hours", CVPR 2019): each step draws one op per edge from the straight-through
    Gumbel-softmax of the parameters, its temperature annealed from 10 to 0.1, so weights
    train on sampled paths rather than on a mixture that favours skips (93.61 on
    NAS-Bench-201's CIFAR-10). ``remedy="darts-"`` is DARTS- (Chu et al., "DARTS-: Robustly
    Stepping out of Performance Collapse Without Indicators", ICLR 2021): an auxiliary skip
    on every edge whose weight decays from 1 to 0. ``remedy="none"`` is plain DARTS.

    Each trial trains the supernet for ``steps_per_trial`` more bilevel steps and proposes
    the architecture derived from the parameters: the top op of every edge, leaving out the
    ``none`` op as DARTS's derivation leaves out the zero op (``exclude_none=False`` keeps
    it, as NAS-Bench-201's re-implementation does). When that architecture, or one
    isomorphic to it, is already in the study, the next-best one by the sum of the edges'
    log-probabilities is proposed, so a study holds the derived architectures of successive
    search stages. The derived architecture and the op probabilities are stored in each
    trial's system attributes ``darts:derived`` and ``darts:probabilities``.

    Args:
        search_space: A :class:`optuna_nas.spaces.NASBench201Space`.
        datamodule: The data: weights train on its ``train`` split, the architecture
            parameters on its ``val`` split.
        remedy: ``"gdas"`` (default), ``"darts-"`` or ``"none"`` (plain DARTS).
        exclude_none: Derive cells without the ``none`` op while any such cell is unseen.
        order: 1 (first order) or 2 (second order, the unrolled hypergradient).
        directory: Where to write the supernet checkpoint; a temporary folder by default.
        steps_per_trial: Bilevel steps before each proposal.
        warmup_steps: Extra steps before the first proposal.
        schedule_steps: Steps over which the learning rate, the Gumbel temperature and
            DARTS-'s auxiliary skip are annealed (about the whole search's steps).
        arch_warmup_steps: Steps in which only the weights train before the first update of
            the architecture parameters (PC-DARTS's warm-up, Xu et al., ICLR 2020).
        lr: Initial learning rate of the weights.
        arch_lr: Adam learning rate of the architecture parameters.
        arch_weight_decay: Weight decay of the architecture parameters.
        batch_size: Minibatch size; the data module's by default.
        trainer_kwargs: Further ``pytorch_lightning.Trainer`` arguments (e.g. for DDP).
        seed: Seed of the weights, the parameters, the data order and the Gumbel noise.

    Example:
        >>> import optuna
        >>> from optuna_nas.data import DigitsDataModule
        >>> from optuna_nas.spaces import NASBench201Space
        >>> space = NASBench201Space(channels=4, cells_per_stage=1)
        >>> sampler = DARTSSampler(search_space=space, datamodule=DigitsDataModule(), seed=0)
        >>> study = optuna.create_study(direction="maximize", sampler=sampler)
        >>> study.optimize(lambda trial: len(space.suggest(trial).string), n_trials=1)
    """

    def __init__(
        self,
        *,
        search_space: SearchSpace,
        datamodule: ArrayDataModule,
        remedy: str = "gdas",
        exclude_none: bool = True,
        order: int = 1,
        directory: str | os.PathLike[str] | None = None,
        steps_per_trial: int = 50,
        warmup_steps: int = 0,
        schedule_steps: int = 1000,
        arch_warmup_steps: int = 0,
        lr: float = 0.025,
        arch_lr: float = 3e-4,
        arch_weight_decay: float = 1e-3,
        batch_size: int | None = None,
        trainer_kwargs: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> None:
        if remedy not in REMEDIES:
            raise ValueError(f"`remedy` must be one of {list(REMEDIES)}, but got {remedy!r}.")

        super().__init__(
            search_space=search_space,
            datamodule=datamodule,
            directory=directory,
            steps_per_trial=steps_per_trial,
            warmup_steps=warmup_steps,
            batch_size=batch_size,
            trainer_kwargs=trainer_kwargs,
            seed=seed,
            module_kwargs={
                "order": order,
                "schedule_steps": schedule_steps,
                "arch_warmup_steps": arch_warmup_steps,
                "lr": lr,
                "arch_lr": arch_lr,
                "arch_weight_decay": arch_weight_decay,
            },
        )
        self.remedy = remedy
        self.exclude_none = exclude_none
        self.method = REMEDIES[remedy]
        self.order = order

    def _propose(
        self, study: Study, trial: FrozenTrial, history: History, rng: random.Random
    ) -> Architecture:
        checkpoint = self.train_supernet(study)
        alpha = checkpoint["state_dict"]["arch_parameters"].float()

        candidates = self.ranked(alpha)
        derived = next(self.ranked(alpha))
        arch = self._first_unseen(candidates, history, rng, limit=self.search_space.size)

        probabilities = torch.softmax(alpha, dim=-1)
        storage = study._storage
        storage.set_trial_system_attr(trial._trial_id, "darts:derived", derived.string)
        storage.set_trial_system_attr(
            trial._trial_id,
            "darts:probabilities",
            [[round(float(p), 5) for p in row] for row in probabilities],
        )
        _logger.info(
            "Trial %d: step %d, derived %s, proposing %s.",
            trial.number,
            int(checkpoint["supernet_method"]["steps_done"]),
            derived,
            arch,
        )
        return arch

    def ranked(self, alpha: torch.Tensor) -> Iterator[Architecture]:
        """Yield every architecture by decreasing sum of its ops' log-probabilities.

        The first is the derived architecture: the top op of every edge. With
        :attr:`exclude_none`, cells with a ``none`` edge come after all others.
        """
        log_probs = torch.log_softmax(alpha, dim=-1).numpy()
        if self.exclude_none:
            log_probs[:, NB201_OPS.index("none")] = -np.inf
        edges, ops = log_probs.shape

        grid = np.array(list(itertools.product(range(ops), repeat=edges)))
        scores = log_probs[np.arange(edges), grid].sum(axis=1)
        # A stable sort keeps ties in the order of op indices, so the first row is the argmax.
        for row in grid[np.argsort(-scores, kind="stable")]:
            yield self.search_space.make([NB201_OPS[i] for i in row])
