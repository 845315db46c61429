from __future__ import annotations

import os
import signal

import numpy as np
import optuna
import pytest
import pytorch_lightning as pl

from optuna_nas._study import run_study
from optuna_nas.data import DigitsDataModule
from optuna_nas.evaluators import TrainEvaluator
from optuna_nas.evaluators import TrainingInterrupted
from optuna_nas.spaces import NASBench201Space


@pytest.fixture
def evaluator(space: NASBench201Space) -> TrainEvaluator:
    return TrainEvaluator(
        search_space=space, datamodule=DigitsDataModule(limit=400, batch_size=50), epochs=2
    )


def test_trains_and_reports_every_epoch(evaluator: TrainEvaluator, space) -> None:
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))
    study.optimize(lambda t: evaluator(t, space.suggest(t)), n_trials=1)
    trial = study.trials[0]

    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert sorted(trial.intermediate_values) == [0, 1]
    assert trial.value == trial.intermediate_values[1]
    assert 0.0 <= trial.value <= 100.0
    assert trial.user_attrs["n_params"] > 0
    assert trial.user_attrs["seconds"] > 0
    assert len(trial.user_attrs["history"]["val_loss"]) == 2


def test_learns_on_digits(space: NASBench201Space) -> None:
    evaluator = TrainEvaluator(
        search_space=space, datamodule=DigitsDataModule(batch_size=32), epochs=3
    )
    study = optuna.create_study(direction="maximize")
    arch = space.parse(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
    )
    study.optimize(lambda t: evaluator(t, arch), n_trials=1)

    # Ten classes: chance is 10%; a real network trained for 3 epochs is far above it.
    assert study.best_value > 60.0


def test_same_seed_same_result(evaluator: TrainEvaluator, space) -> None:
    arch = space.make(["nor_conv_1x1"] * 6)
    values = []
    for _ in range(2):
        study = optuna.create_study(direction="maximize")
        study.optimize(lambda t: evaluator(t, arch), n_trials=1)
        values.append(study.best_value)
    assert values[0] == values[1]


def test_pruner_stops_training(evaluator: TrainEvaluator, space) -> None:
    study = optuna.create_study(
        direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=101.0)
    )
    study.optimize(lambda t: evaluator(t, space.suggest(t)), n_trials=1)

    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert list(trial.intermediate_values) == [0]


class _NaNDigits(DigitsDataModule):
    """Digits with one corrupted pixel per image, so the very first loss is NaN."""

    def _load(self):  # type: ignore[no-untyped-def]
        images, labels, test = super()._load()
        images[:, :, 0, 0] = np.nan
        return images, labels, test


def test_nan_loss_fails_the_trial_with_its_reason(space) -> None:
    evaluator = TrainEvaluator(search_space=space, datamodule=_NaNDigits(limit=200), epochs=1)
    study = optuna.create_study(direction="maximize")
    run_study(study, search_space=space, evaluator=evaluator, n_trials=2)

    assert [t.state for t in study.trials] == [optuna.trial.TrialState.FAIL] * 2
    assert "NonFiniteLossError" in study.trials[0].user_attrs["fail_reason"]


def test_bad_arguments() -> None:
    space = NASBench201Space()
    with pytest.raises(ValueError, match="`evaluator.epochs`"):
        TrainEvaluator(search_space=space, datamodule=DigitsDataModule(), epochs=0)
    with pytest.raises(ValueError, match="`evaluator.objectives`"):
        TrainEvaluator(search_space=space, datamodule=DigitsDataModule(), objectives=["speed"])


class _SendSigterm(pl.Callback):
    def on_train_batch_end(self, trainer, *args) -> None:  # type: ignore[no-untyped-def]
        os.kill(os.getpid(), signal.SIGTERM)


def test_sigterm_during_training_leaves_no_running_trial(space) -> None:
    evaluator = TrainEvaluator(
        search_space=space,
        datamodule=DigitsDataModule(limit=300, batch_size=20),
        epochs=5,
        trainer_kwargs={"callbacks": [_SendSigterm()]},
    )
    study = optuna.create_study(direction="maximize")

    with pytest.raises(KeyboardInterrupt):
        run_study(study, search_space=space, evaluator=evaluator, n_trials=3)

    assert len(study.trials) == 1
    assert study.trials[0].state == optuna.trial.TrialState.FAIL
    assert "Interrupt" in study.trials[0].user_attrs["fail_reason"]


def test_sigterm_alone_is_a_keyboard_interrupt(space) -> None:
    evaluator = TrainEvaluator(
        search_space=space,
        datamodule=DigitsDataModule(limit=300, batch_size=20),
        epochs=5,
        trainer_kwargs={"callbacks": [_SendSigterm()]},
    )
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        study = optuna.create_study(direction="maximize")
        with pytest.raises(TrainingInterrupted):
            evaluator(study.ask(), space.sample(0))
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_hardware_aware_objectives(space: NASBench201Space) -> None:
    evaluator = TrainEvaluator(
        search_space=space,
        datamodule=DigitsDataModule(limit=200, batch_size=50),
        epochs=1,
        objectives=["accuracy", "n_params", "flops", "latency_ms"],
    )
    assert evaluator.directions == ["maximize", "minimize", "minimize", "minimize"]

    study = optuna.create_study(directions=evaluator.directions)
    small = space.make(["skip_connect"] * 6)
    large = space.make(["nor_conv_3x3"] * 6)
    for arch in (small, large):
        study.optimize(lambda t, a=arch: evaluator(t, a), n_trials=1)

    (_, params_small, flops_small, latency), (_, params_large, flops_large, _) = [
        t.values for t in study.trials
    ]
    assert params_small < params_large
    assert 0 < flops_small < flops_large
    assert latency > 0
