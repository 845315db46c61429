"""REINFORCE with an LSTM controller as an Optuna sampler."""

from __future__ import annotations

import dataclasses
import logging
import math
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch

from optuna_nas.samplers._base import ArchitectureSampler
from optuna_nas.samplers._base import History
from optuna_nas.samplers._base import TrialRecord
from optuna_nas.samplers._controller import LSTMController

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial

    from optuna_nas.spaces import Architecture
    from optuna_nas.spaces import SearchSpace

_logger = logging.getLogger(__name__)

# Controller samples drawn per proposal before falling back to a random unseen architecture.
_DRAWS = 64


@dataclasses.dataclass
class _PolicyState:
    """The controller after a prefix of the study's complete trials (by number)."""

    numbers: list[int]
    controller: LSTMController
    optimizer: torch.optim.Optimizer
    baseline: float | None = None
    variance: float = 0.0
    pending: list[tuple[list[int], float]] = dataclasses.field(default_factory=list)


class REINFORCESampler(ArchitectureSampler):
    """Policy-gradient architecture search with an LSTM controller.

    Zoph and Le, "Neural Architecture Search with Reinforcement Learning", ICLR 2017: an LSTM
    controller (:class:`LSTMController`) emits one decision per step; each complete trial's
    value is a reward, and the controller follows ``(R - b) * grad log p(arch)`` plus an
    entropy bonus, where ``b`` is an exponential moving average of past rewards. The advantage
    is divided by a moving average of its own magnitude, so the step size does not depend on
    the metric's scale.

    The controller is a pure function of the complete trials in number order and the seed: it
    is replayed from the study's trials when a sampler meets a study (resume, another process)
    and updated incrementally afterwards. A trial whose proposal had to be changed to avoid an
    evaluated or isomorphic architecture is learned from as if the controller had drawn it.
    Failed and pruned trials give no reward but are never proposed again. Single-objective
    studies only.

    Args:
        search_space: The space to search.
        hidden_size: Width of the controller's LSTM.
        learning_rate: Adam's learning rate.
        baseline_decay: Decay of the moving-average baseline.
        entropy_weight: Weight of the entropy bonus.
        batch_size: Rewards per policy update.
        tanh_constant: Logit squashing of the controller (``None`` disables it).
        seed: Seed of every random choice and of the controller's weights.
    """

    def __init__(
        self,
        *,
        search_space: SearchSpace,
        hidden_size: int = 64,
        learning_rate: float = 0.05,
        baseline_decay: float = 0.9,
        entropy_weight: float = 1e-3,
        batch_size: int = 1,
        tanh_constant: float | None = 2.5,
        seed: int | None = None,
    ) -> None:
        if learning_rate <= 0:
            raise ValueError(f"`learning_rate` must be positive, but got {learning_rate}.")
        if not 0 <= baseline_decay < 1:
            raise ValueError(f"`baseline_decay` must be in [0, 1), but got {baseline_decay}.")
        if entropy_weight < 0:
            raise ValueError(f"`entropy_weight` must be non-negative, but got {entropy_weight}.")
        if batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive integer, but got {batch_size}.")

        super().__init__(search_space=search_space, seed=seed)
        self.hidden_size = hidden_size
        self.learning_rate = learning_rate
        self.baseline_decay = baseline_decay
        self.entropy_weight = entropy_weight
        self.batch_size = batch_size
        self.tanh_constant = tanh_constant
        self._states: dict[int, _PolicyState] = {}

    def _propose(
        self, study: Study, trial: FrozenTrial, history: History, rng: random.Random
    ) -> Architecture:
        if history.multi_objective:
            raise ValueError(
                f"REINFORCESampler needs a single-objective study, but the study has "
                f"{len(history.directions)} directions."
            )

        with self._lock:
            state = self._policy(id(study._storage) ^ study._study_id, history.completed)

            return self._first_unseen(self._draws(state, rng), history, rng)

    def controller_for(self, study: Study) -> LSTMController:
        """Return the controller trained on ``study``'s complete trials (for inspection)."""
        history = self.history(study)
        with self._lock:
            return self._policy(id(study._storage) ^ study._study_id, history.completed).controller

    def _policy(self, key: int, completed: list[TrialRecord]) -> _PolicyState:
        state = self._states.get(key)
        prefix = [r.number for r in completed[: len(state.numbers)]] if state else None
        if state is None or prefix != state.numbers:
            if state is not None:
                _logger.debug("Trials completed out of order; replaying the controller.")
            state = self._fresh_state()
            self._states[key] = state

        for record in completed[len(state.numbers) :]:
            self._observe(state, record)
        return state

    def _fresh_state(self) -> _PolicyState:
        generator = torch.Generator().manual_seed(self.seed)
        controller = LSTMController(
            [len(d.choices) for d in self._space.decisions],
            hidden_size=self.hidden_size,
            tanh_constant=self.tanh_constant,
            generator=generator,
        )
        optimizer = torch.optim.Adam(controller.parameters(), lr=self.learning_rate)
        return _PolicyState([], controller, optimizer)

    def _observe(self, state: _PolicyState, record: TrialRecord) -> None:
        state.numbers.append(record.number)
        reward = record.values[0] if record.values else math.nan
        if not math.isfinite(reward):
            return

        if state.baseline is None:
            state.baseline = reward
            return
        advantage = reward - state.baseline
        decay = self.baseline_decay
        state.variance = (
            advantage**2
            if state.variance == 0
            else decay * state.variance + (1 - decay) * advantage**2
        )
        state.baseline = decay * state.baseline + (1 - decay) * reward
        if state.variance > 0:
            choices = [
                d.index(c) for d, c in zip(self._space.decisions, record.arch.choices, strict=True)
            ]
            state.pending.append((choices, advantage / math.sqrt(state.variance)))

        if len(state.pending) >= self.batch_size:
            self._update(state)

    def _update(self, state: _PolicyState) -> None:
        choices = torch.tensor([c for c, _ in state.pending], dtype=torch.long)
        advantages = torch.tensor([a for _, a in state.pending], dtype=torch.float32)
        state.pending.clear()

        log_prob, entropy = state.controller.evaluate(choices)
        loss = -(advantages * log_prob).mean() - self.entropy_weight * entropy.mean()

        state.optimizer.zero_grad()
        loss.backward()
        state.optimizer.step()

    def _draws(self, state: _PolicyState, rng: random.Random) -> Iterator[Architecture]:
        generator = torch.Generator().manual_seed(rng.randrange(2**62))
        with torch.no_grad():
            choices, _, _ = state.controller.sample_batch(_DRAWS, generator)
        for row in choices.tolist():
            yield self._space.make(
                [d.choices[i] for d, i in zip(self._space.decisions, row, strict=True)]
            )
