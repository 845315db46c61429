"""Shared machinery of the architecture samplers: history, deduplication, seeding, Pareto ranks.

Every sampler of this package proposes a whole architecture per trial through Optuna's relative
sampling. Its state is a pure function of ``study.get_trials()`` and its seed, so a resumed
study, or several processes sharing one storage, see the same sampler a single run would.
"""

from __future__ import annotations

import abc
import dataclasses
import logging
import random
import threading
from collections.abc import Iterable
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any

from optuna.samplers import BaseSampler
from optuna.samplers import RandomSampler
from optuna.study import StudyDirection
from optuna.trial import TrialState

from optuna_nas.spaces import Architecture
from optuna_nas.spaces import SearchSpace

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.study import Study
    from optuna.trial import FrozenTrial

_logger = logging.getLogger(__name__)

# The finished states never change, so their records can be cached by trial number.
_FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)

# Spaces up to this size may be enumerated to find the last unseen architectures.
_MAX_ENUMERATION = 2_000_000


@dataclasses.dataclass(frozen=True)
class TrialRecord:
    """What a sampler needs to know about one trial.

    Args:
        number: The trial's number.
        arch: The architecture of the trial's parameters.
        key: The architecture's isomorphism key.
        state: The trial's state.
        values: The objective values, signed so that larger is better (``None`` unless the
            trial is complete).
    """

    number: int
    arch: Architecture
    key: str
    state: TrialState
    values: tuple[float, ...] | None


@dataclasses.dataclass
class History:
    """The trials of a study as seen from the trial being sampled.

    Args:
        records: Every other trial whose parameters describe a whole architecture, by number.
        directions: The study's directions.
    """

    records: list[TrialRecord]
    directions: tuple[StudyDirection, ...]

    def __post_init__(self) -> None:
        self.seen_keys: set[str] = {r.key for r in self.records}
        self.completed: list[TrialRecord] = [
            r for r in self.records if r.state == TrialState.COMPLETE and r.values is not None
        ]

    @property
    def multi_objective(self) -> bool:
        """Whether the study has several objectives."""
        return len(self.directions) > 1

    def score(self, record: TrialRecord) -> float:
        """Return the single objective of a complete trial, larger being better."""
        if record.values is None:
            raise ValueError(f"Trial {record.number} has no value, so it has no score.")
        return record.values[0]


class ArchitectureSampler(BaseSampler, abc.ABC):
    """Base class of the samplers that propose a whole architecture of a search space per trial.

    Subclasses implement :meth:`_propose`; this class rebuilds the :class:`History` from the
    study's trials (caching finished trials by number), derives a per-trial random generator
    from ``(seed, trial.number)`` so that a study resumed in a new process makes the proposals
    of one run straight through, and lets :meth:`_first_unseen` turn a stream of candidates
    into an architecture whose isomorphism class has not been evaluated, or claimed by a
    running trial, while unseen ones remain. Parameters outside the space are sampled by a
    seeded :class:`optuna.samplers.RandomSampler`.

    Failed and pruned trials count as seen (they are never proposed again) but carry no value:
    a pruned trial's last intermediate value is not comparable with final values.

    Args:
        search_space: The space whose decisions the sampler proposes.
        seed: Seed of every random choice; ``None`` draws one.
    """

    def __init__(self, *, search_space: SearchSpace, seed: int | None = None) -> None:
        if not isinstance(search_space, SearchSpace):
            raise TypeError(
                f"`search_space` must be a optuna_nas SearchSpace, but got {search_space!r}."
            )

        self._space = search_space
        self._seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
        self._random_sampler = RandomSampler(seed=self._seed)
        self._lock = threading.Lock()
        self._cache: dict[tuple[int, int], dict[int, TrialRecord | None]] = {}
        self._all_keys: list[tuple[Architecture, str]] | None = None
        self._distributions = search_space.distributions()

    @property
    def search_space(self) -> SearchSpace:
        """The space the sampler proposes architectures of."""
        return self._space

    @property
    def seed(self) -> int:
        """The seed of the sampler's random choices."""
        return self._seed

    def reseed_rng(self) -> None:
        """Reseed the fallback sampler (per-trial generators derive from the trial number)."""
        self._random_sampler.reseed_rng()

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return dict(self._distributions)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}

        history = self.history(study, exclude=trial.number)

        arch = self._propose(study, trial, history, self.trial_rng(trial.number))

        _logger.debug("Trial %d: proposing %s.", trial.number, arch)
        return self._space.to_params(arch)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._random_sampler.sample_independent(
            study, trial, param_name, param_distribution
        )

    @abc.abstractmethod
    def _propose(
        self, study: Study, trial: FrozenTrial, history: History, rng: random.Random
    ) -> Architecture:
        """Return the architecture to evaluate in ``trial``."""

    def trial_rng(self, number: int, stream: str = "") -> random.Random:
        """Return the random generator of one trial (a string seed hashes the same everywhere).

        Args:
            number: The trial number.
            stream: A name separating independent streams of the same trial.
        """
        return random.Random(f"{self._seed}:{number}:{stream}")

    def history(self, study: Study, exclude: int | None = None) -> History:
        """Rebuild the sampler's view of ``study`` from its trials.

        Args:
            study: The study.
            exclude: A trial number to leave out (the trial being sampled).
        """
        trials = study.get_trials(deepcopy=False)
        directions = tuple(study.directions)
        signs = [1.0 if d == StudyDirection.MAXIMIZE else -1.0 for d in directions]

        cache_key = (id(study._storage), study._study_id)
        with self._lock:
            finished = self._cache.setdefault(cache_key, {})

            records = []
            for frozen in trials:
                if frozen.number == exclude:
                    continue
                if frozen.state in _FINISHED and frozen.number in finished:
                    record = finished[frozen.number]
                else:
                    record = self._record(frozen, signs)
                    if frozen.state in _FINISHED:
                        finished[frozen.number] = record
                if record is not None:
                    records.append(record)

        records.sort(key=lambda r: r.number)
        return History(records, directions)

    def _record(self, frozen: FrozenTrial, signs: Sequence[float]) -> TrialRecord | None:
        # An enqueued (waiting) trial's architecture is in its fixed parameters.
        params = {**frozen.system_attrs.get("fixed_params", {}), **frozen.params}
        if any(d.name not in params for d in self._space.decisions):
            # A trial of another space, or one still being suggested by another worker.
            return None
        try:
            arch = self._space.from_params(params)
        except ValueError:
            _logger.debug("Trial %d's parameters are not in the space.", frozen.number)
            return None

        values = None
        if frozen.state == TrialState.COMPLETE and frozen.values is not None:
            values = tuple(s * float(v) for s, v in zip(signs, frozen.values, strict=True))
        return TrialRecord(
            frozen.number, arch, self._space.isomorphism_key(arch), frozen.state, values
        )

    def _first_unseen(
        self,
        candidates: Iterable[Architecture],
        history: History,
        rng: random.Random,
        limit: int = 1000,
    ) -> Architecture:
        """Return the first candidate whose isomorphism class is unseen, else a random unseen one.

        Args:
            candidates: Architectures in order of preference (read lazily).
            history: The study's history.
            rng: The trial's random generator.
            limit: The most candidates to read.
        """
        first = None
        for count, arch in enumerate(candidates):
            if first is None:
                first = arch
            if self._space.isomorphism_key(arch) not in history.seen_keys:
                return arch
            if count + 1 >= limit:
                break

        unseen = self.random_unseen(history, rng)
        if unseen is not None:
            return unseen

        # Every isomorphism class has been seen: repeat the preferred candidate.
        _logger.info("Every architecture of the space has been seen; repeating one.")
        return first if first is not None else self._space.sample(rng)

    def random_unseen(self, history: History, rng: random.Random) -> Architecture | None:
        """Return a uniformly random architecture whose class is unseen, or ``None``.

        Random draws are tried first; when they keep colliding, the space is enumerated (once,
        then cached) and a random unseen architecture among all is returned.
        """
        for _ in range(200):
            arch = self._space.sample(rng)
            if self._space.isomorphism_key(arch) not in history.seen_keys:
                return arch

        if self._space.size > _MAX_ENUMERATION:
            return None
        if self._all_keys is None:
            self._all_keys = [(a, self._space.isomorphism_key(a)) for a in self._space]
        unseen = [a for a, key in self._all_keys if key not in history.seen_keys]
        return rng.choice(unseen) if unseen else None

    def random_candidates(self, rng: random.Random, count: int) -> list[Architecture]:
        """Return ``count`` uniformly random architectures."""
        return [self._space.sample(rng) for _ in range(count)]


def nondominated_ranks(values: Sequence[Sequence[float]]) -> list[int]:
    """Return each point's non-dominated front (0 is the Pareto front), larger being better.

    Deb et al.'s fast non-dominated sorting (NSGA-II, IEEE TEC 2002).
    """
    n = len(values)
    dominated_by: list[list[int]] = [[] for _ in range(n)]
    counts = [0] * n
    for i in range(n):
        for j in range(i + 1, n):
            if _dominates(values[i], values[j]):
                dominated_by[i].append(j)
                counts[j] += 1
            elif _dominates(values[j], values[i]):
                dominated_by[j].append(i)
                counts[i] += 1

    ranks = [0] * n
    front = [i for i in range(n) if counts[i] == 0]
    rank = 0
    while front:
        following = []
        for i in front:
            ranks[i] = rank
            for j in dominated_by[i]:
                counts[j] -= 1
                if counts[j] == 0:
                    following.append(j)
        front = following
        rank += 1
    return ranks


def crowding_distances(values: Sequence[Sequence[float]], ranks: Sequence[int]) -> list[float]:
    """Return each point's crowding distance within its front (NSGA-II, Deb et al. 2002)."""
    n = len(values)
    distances = [0.0] * n
    if n == 0:
        return distances

    for rank in set(ranks):
        members = [i for i in range(n) if ranks[i] == rank]
        for objective in range(len(values[0])):
            members.sort(key=lambda i: values[i][objective])
            low = values[members[0]][objective]
            high = values[members[-1]][objective]
            distances[members[0]] = float("inf")
            distances[members[-1]] = float("inf")
            if high <= low:
                continue
            for left, middle, right in zip(members, members[1:], members[2:], strict=False):
                gap = values[right][objective] - values[left][objective]
                distances[middle] += gap / (high - low)
    return distances


def _dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    pairs = list(zip(a, b, strict=True))
    return all(x >= y for x, y in pairs) and any(x > y for x, y in pairs)
