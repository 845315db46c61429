from __future__ import annotations

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from optuna_nas.pruners import ZeroCostPruner
from optuna_nas.spaces import NASBench201Space


def _objective(space: NASBench201Space, trained: list[int]):
    def objective(trial: optuna.Trial) -> float:
        space.suggest(trial)
        if trial.should_prune():  # once, before training
            raise optuna.TrialPruned()
        trained.append(trial.number)
        return float(trial.number)

    return objective


def test_pruned_trials_end_pruned_before_training_with_their_score_kept(space, batch) -> None:
    pruner = ZeroCostPruner(
        search_space=space, proxy="params", quantile=0.5, n_startup_trials=3, batch=batch
    )
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0), pruner=pruner
    )
    trained: list[int] = []

    study.optimize(_objective(space, trained), n_trials=12)

    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert pruned and len(pruned) < len(study.trials)
    assert sorted(trained) == [t.number for t in study.trials if t.state == TrialState.COMPLETE]
    for trial in study.trials:
        value = trial.user_attrs["zero_cost_score"]
        assert value == pruner.scorer.score(space.from_params(trial.params))
        earlier = [t.user_attrs["zero_cost_score"] for t in study.trials[: trial.number]]
        if len(earlier) < 3:
            assert trial.state == TrialState.COMPLETE
        else:
            should = value < np.quantile(earlier, 0.5)
            assert (trial.state == TrialState.PRUNED) == should


def test_the_ensemble_pruner_keeps_member_scores(space, batch) -> None:
    pruner = ZeroCostPruner(
        search_space=space,
        proxy="ensemble",
        ensemble=["params", "synflow"],
        quantile=0.6,
        n_startup_trials=2,
        batch=batch,
    )
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.RandomSampler(seed=1), pruner=pruner
    )

    study.optimize(_objective(space, []), n_trials=6)

    assert {t.state for t in study.trials} == {TrialState.COMPLETE, TrialState.PRUNED}
    for trial in study.trials[2:]:
        assert set(trial.user_attrs["zero_cost_scores"]) == {"params", "synflow"}
        assert 0.0 <= trial.user_attrs["zero_cost_score"] <= 1.0


def test_bad_arguments_are_explained(space, batch) -> None:
    with pytest.raises(ValueError, match="`quantile` must lie in \\(0, 1\\), but got 1.5"):
        ZeroCostPruner(search_space=space, quantile=1.5, batch=batch)
    with pytest.raises(ValueError, match="`n_startup_trials` must be at least 1, but got 0"):
        ZeroCostPruner(search_space=space, n_startup_trials=0, batch=batch)
