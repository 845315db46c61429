"""Regularized (aging) evolution as an Optuna sampler."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING

from optuna_nas.samplers._base import ArchitectureSampler
from optuna_nas.samplers._base import History
from optuna_nas.samplers._base import TrialRecord
from optuna_nas.samplers._base import crowding_distances
from optuna_nas.samplers._base import nondominated_ranks

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial

    from optuna_nas.spaces import Architecture
    from optuna_nas.spaces import SearchSpace

_logger = logging.getLogger(__name__)


class RegularizedEvolutionSampler(ArchitectureSampler):
    """Regularized (aging) evolution over the architectures of a search space.

    Real, Aggarwal, Huang and Le, "Regularized Evolution for Image Classifier Architecture
    Search", AAAI 2019. The population is the ``population_size`` most recent complete trials
    (by trial number, so the oldest member leaves when a new one completes). Each proposal
    samples ``tournament_size`` members at random, takes the best as parent and changes one of
    its decisions. The first ``population_size`` complete trials are uniformly random.

    Children never repeat an evaluated or running architecture, nor one isomorphic to it: when
    a mutation collides, the parent's other one-decision neighbours are tried in random order,
    then the neighbours of the other tournament members, then two-decision mutations, and
    finally a random unseen architecture.

    With several objectives the tournament winner is the member of best non-dominated rank,
    ties broken by larger crowding distance (Deb et al., NSGA-II, IEEE TEC 2002).

    The defaults (population 10, tournament 3) are those of the REA baseline of the
    NAS-Bench-201 experiments (Dong & Yang, ICLR 2020).

    Args:
        search_space: The space to search.
        population_size: Members of the population.
        tournament_size: Members sampled per tournament.
        seed: Seed of every random choice.

    Example:
        >>> import optuna
        >>> from optuna_nas.spaces import NASBench201Space
        >>> space = NASBench201Space()
        >>> sampler = RegularizedEvolutionSampler(search_space=space, seed=0)
        >>> study = optuna.create_study(direction="maximize", sampler=sampler)
    """

    def __init__(
        self,
        *,
        search_space: SearchSpace,
        population_size: int = 10,
        tournament_size: int = 3,
        seed: int | None = None,
    ) -> None:
        if population_size < 2:
            raise ValueError(f"`population_size` must be at least 2, but got {population_size}.")
        if not 1 <= tournament_size <= population_size:
            raise ValueError(
                f"`tournament_size` must be between 1 and `population_size` "
                f"({population_size}), but got {tournament_size}."
            )

        super().__init__(search_space=search_space, seed=seed)
        self.population_size = population_size
        self.tournament_size = tournament_size

    def _propose(
        self, study: Study, trial: FrozenTrial, history: History, rng: random.Random
    ) -> Architecture:
        if len(history.completed) < self.population_size:
            arch = self.random_unseen(history, rng)
            return arch if arch is not None else self._space.sample(rng)

        population = history.completed[-self.population_size :]

        contestants = self._tournament(population, history, rng)

        return self._first_unseen(self._children(contestants, rng), history, rng)

    def _tournament(
        self, population: list[TrialRecord], history: History, rng: random.Random
    ) -> list[TrialRecord]:
        """Return the sampled contestants, best first."""
        indices = rng.sample(range(len(population)), self.tournament_size)

        if not history.multi_objective:
            return sorted(
                (population[i] for i in indices), key=lambda r: (-history.score(r), -r.number)
            )

        values = [r.values or () for r in population]
        ranks = nondominated_ranks(values)
        crowding = crowding_distances(values, ranks)
        indices.sort(key=lambda i: (ranks[i], -crowding[i], -population[i].number))
        return [population[i] for i in indices]

    def _children(
        self, contestants: list[TrialRecord], rng: random.Random
    ) -> Iterator[Architecture]:
        for record in contestants:
            neighbours = self._space.neighbours(record.arch)
            rng.shuffle(neighbours)
            yield from neighbours

        parent = contestants[0].arch
        for _ in range(100):
            yield self._space.mutate(self._space.mutate(parent, rng), rng)
