"""Evolution guided by an attention-based performance predictor, as an Optuna sampler."""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from optuna_nas.predictors import TransformerPredictor
from optuna_nas.samplers._base import ArchitectureSampler
from optuna_nas.samplers._base import History
from optuna_nas.samplers._base import TrialRecord

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial

    from optuna_nas.spaces import Architecture
    from optuna_nas.spaces import SearchSpace

_logger = logging.getLogger(__name__)

# Up to this many complete trials the predictor is refitted for every proposal; beyond it, every
# ceil(n / _REFIT_BLOCK) trials, which bounds the amortised fitting cost in long studies.
_REFIT_BLOCK = 40


class PredictorEvolutionSampler(ArchitectureSampler):
    """Evolution whose children are chosen by an attention-based predictor.

    In the spirit of attention-guided evolution (AE-NAS, Sci. Rep. 2025) and of
    predictor-guided evolution (NPENAS, Wei et al., IEEE TNNLS 2022): after
    ``n_startup_trials`` random (or proxy-screened) architectures, every proposal fits a
    :class:`~optuna_nas.predictors.TransformerPredictor` (an ensemble of small Transformer
    encoders over the decision and path tokens) on the complete trials, generates every
    one-decision neighbour and ``n_mutations`` multi-decision mutations of each of the
    ``n_parents`` best architectures, drops those evaluated, running or isomorphic to either,
    and proposes the candidate of highest ``mean + exploration * std`` under the ensemble.

    The predictor is refitted from scratch, seeded by the trial count, on the first complete
    trials in number order (every one up to 40 of them, then every ``ceil(n / 40)`` trials),
    so the sampler is a pure function of the study's trials: a resumed study or another
    process makes the same proposals. Failed and pruned trials are never proposed again and
    are not learned from. Single-objective studies only.

    Args:
        search_space: The space to search.
        n_startup_trials: Complete trials before the predictor is used.
        n_parents: Best architectures whose mutations are candidates.
        n_mutations: Random mutations of two or three decisions per parent (in addition to all
            one-decision neighbours).
        n_random_candidates: Uniformly random unseen architectures added to the candidates,
            so the predictor can also propose far from the current parents.
        exploration: Weight of the ensemble's standard deviation in the acquisition.
        members: Models in the predictor's ensemble.
        width: Embedding width of the predictor.
        heads: Attention heads of the predictor.
        layers: Encoder blocks of the predictor.
        epochs: Full-batch training steps of the predictor.
        learning_rate: Adam's learning rate for the predictor.
        loss: ``"ranking"`` (pairwise) or ``"regression"``.
        encoding: ``"path"`` (decision and path tokens) or ``"decisions"``.
        max_train_size: The most trials the predictor learns from: beyond it, the better half
            and an even spread of the rest by rank.
        startup_scorer: Optional cheap score (larger is better), e.g. a zero-cost proxy such
            as :meth:`ProxyScorer.data_free(search_space=..., proxy="synflow")
            <optuna_nas.proxies.ProxyScorer.data_free>` (the main job's default): the
            start-up trials then take the best of ``n_startup_candidates`` random unseen
            architectures under it instead of a random one. It must be deterministic, so that
            a resumed study makes the same proposals.
        n_startup_candidates: Candidates screened per start-up trial with ``startup_scorer``.
        seed: Seed of every random choice and of the predictor.
    """

    def __init__(
        self,
        *,
        search_space: SearchSpace,
        n_startup_trials: int = 5,
        n_parents: int = 5,
        n_mutations: int = 40,
        n_random_candidates: int = 0,
        exploration: float = 0.5,
        members: int = 3,
        width: int = 16,
        heads: int = 2,
        layers: int = 1,
        epochs: int = 60,
        learning_rate: float = 1e-2,
        loss: str = "ranking",
        encoding: str = "path",
        max_train_size: int = 200,
        startup_scorer: Callable[[Architecture], float] | None = None,
        n_startup_candidates: int = 50,
        seed: int | None = None,
    ) -> None:
        if n_startup_trials < 2:
            raise ValueError(f"`n_startup_trials` must be at least 2, but got {n_startup_trials}.")
        if n_parents < 1:
            raise ValueError(f"`n_parents` must be a positive integer, but got {n_parents}.")
        if n_mutations < 0:
            raise ValueError(f"`n_mutations` must be non-negative, but got {n_mutations}.")
        if n_random_candidates < 0:
            raise ValueError(
                f"`n_random_candidates` must be non-negative, but got {n_random_candidates}."
            )
        if max_train_size < 2:
            raise ValueError(f"`max_train_size` must be at least 2, but got {max_train_size}.")
        if n_startup_candidates < 1:
            raise ValueError(
                f"`n_startup_candidates` must be a positive integer, but got "
                f"{n_startup_candidates}."
            )

        super().__init__(search_space=search_space, seed=seed)
        self.n_startup_trials = n_startup_trials
        self.n_parents = n_parents
        self.n_mutations = n_mutations
        self.n_random_candidates = n_random_candidates
        self.exploration = exploration
        self.max_train_size = max_train_size
        self.startup_scorer = startup_scorer
        self.n_startup_candidates = n_startup_candidates
        self._predictor_args = {
            "members": members,
            "width": width,
            "heads": heads,
            "layers": layers,
            "epochs": epochs,
            "learning_rate": learning_rate,
            "loss": loss,
            "encoding": encoding,
        }
        # Validate the predictor's arguments now rather than at the first fit.
        TransformerPredictor(space=search_space, **self._predictor_args)
        self._fitted: dict[tuple[object, tuple[int, ...]], TransformerPredictor] = {}

    def _propose(
        self, study: Study, trial: FrozenTrial, history: History, rng: random.Random
    ) -> Architecture:
        if history.multi_objective:
            raise ValueError(
                f"PredictorEvolutionSampler needs a single-objective study, but the study has "
                f"{len(history.directions)} directions."
            )

        completed = [r for r in history.completed if math.isfinite(history.score(r))]
        if len(completed) < self.n_startup_trials:
            return self._startup(history, rng)

        predictor = self.predictor(completed, study)

        candidates = self._candidates(completed, history, rng)
        if not candidates:
            return self._first_unseen([], history, rng)

        mean, std = predictor.predict(candidates)
        acquisition = mean + self.exploration * std
        best = max(range(len(candidates)), key=lambda i: (acquisition[i], -i))
        return candidates[best]

    def predictor(
        self, completed: list[TrialRecord], study: Study | None = None
    ) -> TransformerPredictor:
        """Return the predictor fitted on the training prefix of ``completed`` (cached).

        Args:
            completed: The study's complete trials with finite values, by number.
            study: The study, which keys the cache (``None`` for a one-off fit).
        """
        size = len(completed)
        if size > _REFIT_BLOCK:
            step = math.ceil(size / _REFIT_BLOCK)
            size -= size % step
        prefix = completed[:size]
        owner = (id(study._storage), study._study_id) if study is not None else None
        key = (owner, tuple(r.number for r in prefix))

        with self._lock:
            predictor = self._fitted.get(key)
        if predictor is not None:
            return predictor

        train = self._training_set(prefix)
        predictor = TransformerPredictor(
            space=self._space, seed=self.seed * 7919 + size, **self._predictor_args
        ).fit([r.arch for r in train], [r.values[0] for r in train if r.values])

        with self._lock:
            if len(self._fitted) > 8:
                self._fitted.clear()
            self._fitted[key] = predictor
        return predictor

    def _training_set(self, records: list[TrialRecord]) -> list[TrialRecord]:
        if len(records) <= self.max_train_size:
            return records

        ranked = sorted(records, key=lambda r: (-(r.values or (0.0,))[0], r.number))
        half = self.max_train_size // 2
        rest = ranked[half:]
        stride = len(rest) / (self.max_train_size - half)
        return ranked[:half] + [rest[int(i * stride)] for i in range(self.max_train_size - half)]

    def _candidates(
        self, completed: list[TrialRecord], history: History, rng: random.Random
    ) -> list[Architecture]:
        parents = sorted(completed, key=lambda r: (-(r.values or (0.0,))[0], r.number))
        parents = parents[: self.n_parents]

        pool: list[Architecture] = []
        for parent in parents:
            pool.extend(self._space.neighbours(parent.arch))
            for _ in range(self.n_mutations):
                child = parent.arch
                for _ in range(rng.choice((2, 3))):
                    child = self._space.mutate(child, rng)
                pool.append(child)
        pool.extend(self._space.sample(rng) for _ in range(self.n_random_candidates))

        candidates: list[Architecture] = []
        keys = set(history.seen_keys)
        for arch in pool:
            key = self._space.isomorphism_key(arch)
            if key not in keys:
                keys.add(key)
                candidates.append(arch)
        return candidates

    def _startup(self, history: History, rng: random.Random) -> Architecture:
        if self.startup_scorer is None:
            return self._first_unseen([], history, rng)

        pool = []
        keys = set(history.seen_keys)
        for _ in range(self.n_startup_candidates):
            arch = self.random_unseen(history, rng)
            if arch is None:
                break
            key = self._space.isomorphism_key(arch)
            if key not in keys:
                keys.add(key)
                pool.append(arch)
        if not pool:
            return self._first_unseen([], history, rng)

        scores = [float(self.startup_scorer(arch)) for arch in pool]
        best = max(range(len(pool)), key=lambda i: (scores[i], -i))
        return pool[best]
