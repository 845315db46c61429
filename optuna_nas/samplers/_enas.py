"""Efficient neural architecture search (ENAS) with a shared supernet, as an Optuna sampler."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

import torch

from optuna_nas.samplers._controller import LSTMController
from optuna_nas.samplers._oneshot import OneShotSampler
from optuna_nas.samplers._oneshot import atomic_save

if TYPE_CHECKING:
    import os

    from optuna.study import Study
    from optuna.trial import FrozenTrial

    from optuna_nas.data import ArrayDataModule
    from optuna_nas.samplers._base import History
    from optuna_nas.samplers._base import TrialRecord
    from optuna_nas.spaces import Architecture
    from optuna_nas.spaces import SearchSpace

_logger = logging.getLogger(__name__)

#: The study user attribute holding the path of the ENAS controller's state.
CONTROLLER_ATTR = "enas_controller"

# Controller draws per proposal before falling back to a random unseen architecture.
_DRAWS = 64


class ENASSampler(OneShotSampler):
    """ENAS: an LSTM controller proposes children of one shared, continually trained supernet.

    Pham, Guan, Zoph, Le and Dean, "Efficient Neural Architecture Search via Parameter
    Sharing", ICML 2018. Before each proposal:

    1. the controller (:class:`optuna_nas.samplers._controller.LSTMController`, one decision
       per edge) takes a REINFORCE step on every complete trial it has not learned from yet,
       in trial-number order: reward ``R = reward_scale * value``, loss
       ``-(R - b) log p(arch) - entropy_weight * H``, then the moving-average baseline
       ``b <- baseline_decay * b + (1 - baseline_decay) * R``;
    2. the supernet's shared weights train for ``steps_per_trial`` steps, each on one path
       drawn from the controller;
    3. the controller draws the trial's child (the first draw whose isomorphism class is not
       in the study yet).

    With :class:`optuna_nas.evaluators.SupernetEvaluator` the trial's value is the child's
    validation accuracy under the shared weights. The supernet (a Lightning checkpoint) and
    the controller, its optimiser, baseline and learned trials live in files whose paths the
    study holds (user attributes ``supernet_checkpoint`` and ``enas_controller``), so a
    resumed study continues the search.

    Args:
        search_space: A :class:`optuna_nas.spaces.NASBench201Space`.
        datamodule: The data the shared weights train on.
        directory: Where to write the search's files; a temporary folder by default.
        steps_per_trial: Supernet training steps before each proposal.
        warmup_steps: Extra steps, on uniformly random paths, before the first proposal.
        lr: Initial learning rate of the shared weights (cosine over ``schedule_steps``).
        schedule_steps: Steps of the weights' cosine schedule (about the whole search's).
        controller_lr: Adam learning rate of the controller.
        entropy_weight: Weight of the entropy bonus.
        baseline_decay: Decay of the moving-average baseline.
        reward_scale: Factor turning a trial's value into a reward (0.01 for percents).
        hidden_size: Width of the controller's LSTM.
        temperature: Temperature of the controller's logits.
        tanh_constant: Logit squashing of the controller.
        batch_size: Minibatch size; the data module's by default.
        trainer_kwargs: Further ``pytorch_lightning.Trainer`` arguments (e.g. for DDP).
        seed: Seed of the weights, the controller, the data order and every draw.

    Example:
        >>> import optuna
        >>> from optuna_nas.data import DigitsDataModule
        >>> from optuna_nas.spaces import NASBench201Space
        >>> space = NASBench201Space(channels=4, cells_per_stage=1)
        >>> sampler = ENASSampler(search_space=space, datamodule=DigitsDataModule(), seed=0)
        >>> study = optuna.create_study(direction="maximize", sampler=sampler)
        >>> study.optimize(lambda trial: len(space.suggest(trial).string), n_trials=2)
    """

    method = "single_path"

    def __init__(
        self,
        *,
        search_space: SearchSpace,
        datamodule: ArrayDataModule,
        directory: str | os.PathLike[str] | None = None,
        steps_per_trial: int = 50,
        warmup_steps: int = 0,
        lr: float = 0.05,
        schedule_steps: int = 1000,
        controller_lr: float = 3.5e-4,
        entropy_weight: float = 1e-4,
        baseline_decay: float = 0.99,
        reward_scale: float = 0.01,
        hidden_size: int = 64,
        temperature: float = 5.0,
        tanh_constant: float | None = 2.5,
        batch_size: int | None = None,
        trainer_kwargs: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> None:
        if controller_lr <= 0:
            raise ValueError(f"`controller_lr` must be positive, but got {controller_lr}.")
        if not 0.0 <= baseline_decay < 1.0:
            raise ValueError(f"`baseline_decay` must lie in [0, 1), but got {baseline_decay}.")

        super().__init__(
            search_space=search_space,
            datamodule=datamodule,
            directory=directory,
            steps_per_trial=steps_per_trial,
            warmup_steps=warmup_steps,
            batch_size=batch_size,
            trainer_kwargs=trainer_kwargs,
            seed=seed,
            module_kwargs={"lr": lr, "schedule_steps": schedule_steps, "weight_decay": 1e-4},
        )
        self.controller_lr = controller_lr
        self.entropy_weight = entropy_weight
        self.baseline_decay = baseline_decay
        self.reward_scale = reward_scale
        self.hidden_size = hidden_size
        self.temperature = temperature
        self.tanh_constant = tanh_constant

    def _propose(
        self, study: Study, trial: FrozenTrial, history: History, rng: random.Random
    ) -> Architecture:
        # One worker at a time learns, trains and draws: the controller and supernet files
        # are read and rewritten as one step of the search.
        with self._fit_lock, self.search_lock(study):
            state = self.learn(study, history)

            steps = self.steps_for(study)
            generator = torch.Generator().manual_seed(rng.getrandbits(63))
            first = not self.checkpoint_path(study).is_file()
            with torch.no_grad():
                paths, _, _ = state["controller"].sample_batch(steps, generator)
            if first and self.warmup_steps:
                # The warm-up trains on uniformly random paths, before the controller learns.
                paths = None

            self.train_supernet(study, paths=paths)

        arch = self._first_unseen(self._draws(state["controller"], generator), history, rng)
        _logger.info("Trial %d: proposing %s.", trial.number, arch)
        return arch

    def controller_path(self, study: Study) -> Path:
        """Return the study's controller file, recording it in the study if needed."""
        recorded = study.user_attrs.get(CONTROLLER_ATTR)
        if recorded is not None:
            return Path(recorded)
        path = self.checkpoint_path(study).with_name("controller.pt")
        study.set_user_attr(CONTROLLER_ATTR, str(path))
        return path

    def new_controller(self) -> LSTMController:
        """Return a freshly initialised (seeded) controller."""
        return LSTMController(
            [len(d.choices) for d in self.search_space.decisions],
            hidden_size=self.hidden_size,
            temperature=self.temperature,
            tanh_constant=self.tanh_constant,
            generator=torch.Generator().manual_seed(self.seed),
        )

    def learn(self, study: Study, history: History) -> dict[str, Any]:
        """Load the controller and take a REINFORCE step per complete trial not yet learned.

        Returns the state: ``controller``, ``optimizer``, ``baseline`` and ``learned`` (the
        numbers of the trials learned from), saved back to the controller file.
        """
        path = self.controller_path(study)
        state = self._load(path)

        pending = [r for r in history.completed if r.number not in state["learned"]]
        for record in pending:
            self._reinforce(state, record, history)
        if pending or not path.is_file():
            self._save(state, path)
        return state

    def _reinforce(self, state: dict[str, Any], record: TrialRecord, history: History) -> None:
        reward = self.reward_scale * history.score(record)
        baseline = state["baseline"] if state["baseline"] is not None else reward

        decisions = self.search_space.decisions
        choices = [[d.index(c) for d, c in zip(decisions, record.arch.choices, strict=True)]]
        log_prob, entropy = state["controller"].evaluate(choices)
        loss = -(reward - baseline) * log_prob.sum() - self.entropy_weight * entropy.sum()

        state["optimizer"].zero_grad()
        loss.backward()
        state["optimizer"].step()

        state["baseline"] = self.baseline_decay * baseline + (1 - self.baseline_decay) * reward
        state["learned"].add(record.number)
        _logger.debug(
            "Learned from trial %d: reward %.4f, baseline %.4f.",
            record.number,
            reward,
            state["baseline"],
        )

    def _load(self, path: Path) -> dict[str, Any]:
        controller = self.new_controller()
        optimizer = torch.optim.Adam(controller.parameters(), lr=self.controller_lr)
        state: dict[str, Any] = {
            "controller": controller,
            "optimizer": optimizer,
            "baseline": None,
            "learned": set(),
        }
        if not path.is_file():
            return state

        saved = torch.load(path, map_location="cpu", weights_only=True)
        controller.load_state_dict(saved["controller"])
        optimizer.load_state_dict(saved["optimizer"])
        state["baseline"] = saved["baseline"]
        state["learned"] = set(saved["learned"])
        return state

    def _save(self, state: dict[str, Any], path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_save(
            {
                "controller": state["controller"].state_dict(),
                "optimizer": state["optimizer"].state_dict(),
                "baseline": state["baseline"],
                "learned": sorted(state["learned"]),
            },
            path,
        )

    def _draws(
        self, controller: LSTMController, generator: torch.Generator
    ) -> Iterator[Architecture]:
        with torch.no_grad():
            choices, _, _ = controller.sample_batch(_DRAWS, generator)
        decisions = self.search_space.decisions
        for row in choices.tolist():
            yield self.search_space.make(
                [d.choices[i] for d, i in zip(decisions, row, strict=True)]
            )
