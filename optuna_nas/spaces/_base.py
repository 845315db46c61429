"""The search-space contract shared by every strategy and evaluator."""

from __future__ import annotations

import abc
import dataclasses
import random
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:
    import optuna
    import torch


@dataclasses.dataclass(frozen=True)
class Decision:
    """One categorical decision of a search space.

    Args:
        name: The Optuna parameter name of the decision.
        choices: The options, in a fixed order.
    """

    name: str
    choices: tuple[str, ...]

    def index(self, choice: str) -> int:
        """Return the position of ``choice`` among :attr:`choices`."""
        try:
            return self.choices.index(choice)
        except ValueError:
            raise ValueError(
                f"`{self.name}` must be one of {list(self.choices)}, but got {choice!r}."
            ) from None


@dataclasses.dataclass(frozen=True)
class Architecture:
    """An immutable, hashable architecture: one choice per decision of its space.

    Args:
        space: The name of the search space the architecture belongs to.
        choices: One choice per decision, in the order of the space's decisions.
        string: The canonical string of the architecture, as its space writes it.
    """

    space: str
    choices: tuple[str, ...]
    string: str = dataclasses.field(compare=False)

    def __str__(self) -> str:
        return self.string


class SearchSpace(abc.ABC):
    """A space of architectures made of categorical decisions.

    Every decision is one categorical Optuna parameter, so any Optuna sampler, the dashboard
    and MLflow's parameter columns work on a space unchanged. Subclasses define the decisions,
    the canonical string, the isomorphism key and the network; this class supplies the rest.
    """

    name: str = "space"

    @property
    @abc.abstractmethod
    def decisions(self) -> tuple[Decision, ...]:
        """The decisions, in order."""

    @abc.abstractmethod
    def to_string(self, choices: Sequence[str]) -> str:
        """Return the canonical string of an architecture given its choices."""

    @abc.abstractmethod
    def parse(self, string: str) -> Architecture:
        """Parse a canonical string; raise ``ValueError`` naming what is wrong."""

    @abc.abstractmethod
    def isomorphism_key(self, arch: Architecture) -> str:
        """Return a key shared by all architectures that compute the same function."""

    @abc.abstractmethod
    def build(self, arch: Architecture, **kwargs: Any) -> torch.nn.Module:
        """Build the network of ``arch``."""

    def encode(self, arch: Architecture, kind: str = "onehot") -> list[float]:
        """Encode an architecture as a flat feature vector for predictors.

        Args:
            arch: The architecture.
            kind: ``"onehot"`` (one block per decision); spaces may add more kinds.
        """
        self._check(arch)
        if kind != "onehot":
            raise ValueError(f"`kind` must be 'onehot' for space {self.name!r}, but got {kind!r}.")

        features: list[float] = []
        for decision, choice in zip(self.decisions, arch.choices, strict=True):
            block = [0.0] * len(decision.choices)
            block[decision.index(choice)] = 1.0
            features.extend(block)
        return features

    def tokens(self, arch: Architecture) -> list[int]:
        """Return one integer token per decision, unique across decisions (for attention)."""
        self._check(arch)

        tokens = []
        offset = 0
        for decision, choice in zip(self.decisions, arch.choices, strict=True):
            tokens.append(offset + decision.index(choice))
            offset += len(decision.choices)
        return tokens

    @property
    def n_tokens(self) -> int:
        """The number of distinct tokens :meth:`tokens` can produce."""
        return sum(len(d.choices) for d in self.decisions)

    @property
    def size(self) -> int:
        """The number of architectures in the space (isomorphic ones counted separately)."""
        total = 1
        for decision in self.decisions:
            total *= len(decision.choices)
        return total

    def make(self, choices: Sequence[str]) -> Architecture:
        """Build an architecture from one choice per decision, checking each."""
        choices = tuple(choices)
        if len(choices) != len(self.decisions):
            raise ValueError(
                f"An architecture of space {self.name!r} needs {len(self.decisions)} choices, "
                f"but got {len(choices)}."
            )
        for decision, choice in zip(self.decisions, choices, strict=True):
            decision.index(choice)
        return Architecture(self.name, choices, self.to_string(choices))

    def suggest(self, trial: optuna.trial.BaseTrial) -> Architecture:
        """Suggest an architecture with one ``suggest_categorical`` per decision."""
        choices = [trial.suggest_categorical(d.name, list(d.choices)) for d in self.decisions]
        return self.make([str(c) for c in choices])

    def from_params(self, params: Mapping[str, Any]) -> Architecture:
        """Rebuild an architecture from a trial's parameters."""
        missing = [d.name for d in self.decisions if d.name not in params]
        if missing:
            raise ValueError(
                f"The parameters lack decision(s) {missing} of space {self.name!r}; "
                f"got keys {sorted(params)}."
            )
        return self.make([str(params[d.name]) for d in self.decisions])

    def to_params(self, arch: Architecture) -> dict[str, str]:
        """Return the Optuna parameters of an architecture."""
        self._check(arch)
        return {d.name: c for d, c in zip(self.decisions, arch.choices, strict=True)}

    def distributions(self) -> dict[str, optuna.distributions.CategoricalDistribution]:
        """Return the Optuna distribution of every decision."""
        import optuna

        return {
            d.name: optuna.distributions.CategoricalDistribution(list(d.choices))
            for d in self.decisions
        }

    def sample(self, rng: random.Random | int | None = None) -> Architecture:
        """Sample an architecture uniformly at random.

        Args:
            rng: A ``random.Random`` or a seed.
        """
        rng = _as_rng(rng)
        return self.make([rng.choice(d.choices) for d in self.decisions])

    def neighbours(self, arch: Architecture) -> list[Architecture]:
        """Return every architecture that differs from ``arch`` in exactly one decision."""
        self._check(arch)

        result = []
        for position, decision in enumerate(self.decisions):
            for choice in decision.choices:
                if choice != arch.choices[position]:
                    changed = list(arch.choices)
                    changed[position] = choice
                    result.append(self.make(changed))
        return result

    def mutate(self, arch: Architecture, rng: random.Random | int | None = None) -> Architecture:
        """Change one decision of ``arch`` to another of its choices, at random."""
        self._check(arch)
        rng = _as_rng(rng)

        open_positions = [i for i, d in enumerate(self.decisions) if len(d.choices) > 1]
        position = rng.choice(open_positions)
        decision = self.decisions[position]
        choice = rng.choice([c for c in decision.choices if c != arch.choices[position]])
        changed = list(arch.choices)
        changed[position] = choice
        return self.make(changed)

    def __iter__(self) -> Iterator[Architecture]:
        """Enumerate every architecture of the space (small spaces only)."""
        import itertools

        for choices in itertools.product(*(d.choices for d in self.decisions)):
            yield self.make(choices)

    def _check(self, arch: Architecture) -> None:
        if arch.space != self.name or len(arch.choices) != len(self.decisions):
            raise ValueError(
                f"Architecture {arch.string!r} belongs to space {arch.space!r}, "
                f"not to space {self.name!r}."
            )


def _as_rng(rng: random.Random | int | None) -> random.Random:
    if isinstance(rng, random.Random):
        return rng
    return random.Random(rng)
