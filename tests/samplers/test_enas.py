from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest
import torch

from optuna_nas.data import DigitsDataModule
from optuna_nas.evaluators import SupernetEvaluator
from optuna_nas.nn import CHECKPOINT_ATTR
from optuna_nas.samplers import ENASSampler
from optuna_nas.samplers._enas import CONTROLLER_ATTR
from optuna_nas.spaces import NASBench201Space


def make_sampler(space: NASBench201Space, data: DigitsDataModule, **kwargs: Any) -> ENASSampler:
    options: dict[str, Any] = {"steps_per_trial": 2, "seed": 0, "schedule_steps": 10}
    options.update(kwargs)
    return ENASSampler(search_space=space, datamodule=data, **options)


def log_prob(sampler: ENASSampler, state: dict[str, Any], arch: Any) -> float:
    choices = [
        [d.index(c) for d, c in zip(sampler.search_space.decisions, arch.choices, strict=True)]
    ]
    with torch.no_grad():
        return float(state["controller"].evaluate(choices)[0])


def test_reinforce_raises_the_probability_of_a_reward_above_the_baseline(
    space: NASBench201Space, digits: DigitsDataModule
) -> None:
    sampler = make_sampler(space, digits, controller_lr=0.05)
    study = optuna.create_study(direction="maximize")
    poor, good = space.make(["none"] * 6), space.make(["nor_conv_3x3"] * 6)
    for arch, value in ((poor, 10.0), (good, 90.0)):
        study.add_trial(
            optuna.trial.create_trial(
                params=space.to_params(arch),
                distributions=space.distributions(),
                value=value,
            )
        )
    before = sampler._load(Path("absent"))

    state = sampler.learn(study, sampler.history(study))

    # The first reward sets the baseline; the second is far above it.
    assert state["learned"] == {0, 1}
    assert log_prob(sampler, state, good) > log_prob(sampler, before, good) + 0.05
    assert 0.1 < state["baseline"] < 0.9
    assert Path(study.user_attrs[CONTROLLER_ATTR]).is_file()

    # Learning again from the same trials changes nothing.
    again = sampler.learn(study, sampler.history(study))
    assert log_prob(sampler, again, good) == pytest.approx(log_prob(sampler, state, good))


def test_search_with_the_supernet_evaluator_and_resume_in_a_new_process(
    tmp_path: Path, space: NASBench201Space, digits: DigitsDataModule
) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    sampler = make_sampler(space, digits, directory=tmp_path / "files", warmup_steps=2)
    evaluator = SupernetEvaluator.from_sampler(sampler, calibration_batches=1)
    study = optuna.create_study(
        study_name="enas", storage=storage, direction="maximize", sampler=sampler
    )

    study.optimize(lambda trial: evaluator(trial, space.suggest(trial)), n_trials=2)

    assert all(0.0 <= t.value <= 100.0 for t in study.trials)
    assert all("supernet_accuracy" in t.user_attrs for t in study.trials)
    checkpoint = Path(study.user_attrs[CHECKPOINT_ATTR])
    assert torch.load(checkpoint, weights_only=True)["supernet_method"]["steps_done"] == 6

    # A new process: fresh sampler and evaluator find the files through the study.
    sampler = make_sampler(space, digits)
    evaluator = SupernetEvaluator(datamodule=digits, calibration_batches=1)
    resumed = optuna.load_study(study_name="enas", storage=storage, sampler=sampler)
    resumed.optimize(lambda trial: evaluator(trial, space.suggest(trial)), n_trials=1)

    assert torch.load(checkpoint, weights_only=True)["supernet_method"]["steps_done"] == 8
    controller = torch.load(resumed.user_attrs[CONTROLLER_ATTR], weights_only=True)
    assert controller["learned"] == [0, 1]
    keys = {space.isomorphism_key(space.from_params(t.params)) for t in resumed.trials}
    assert len(keys) == 3


def test_bad_arguments_are_clear_errors(space: NASBench201Space, digits: DigitsDataModule) -> None:
    with pytest.raises(ValueError, match="`baseline_decay` must lie in"):
        make_sampler(space, digits, baseline_decay=1.0)
    with pytest.raises(TypeError, match="must be a NASBench201Space"):
        ENASSampler(search_space=object(), datamodule=digits)  # type: ignore[arg-type]
