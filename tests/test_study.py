from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from optuna_nas._study import StudyConfigError
from optuna_nas._study import create_or_resume_study
from optuna_nas._study import format_leaderboard
from optuna_nas._study import run_study
from optuna_nas._study import summarize
from optuna_nas.evaluators import TabularEvaluator
from optuna_nas.spaces import NASBench201Space


def test_exceptions_fail_the_trial_and_the_study_goes_on(small_table: Path) -> None:
    space = NASBench201Space()
    table = TabularEvaluator(small_table)

    def evaluator(trial: optuna.Trial, arch) -> float:  # type: ignore[no-untyped-def]
        if trial.number % 2:
            raise ValueError(f"Odd trial {trial.number}.")
        return table(trial, arch)

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))
    run_study(study, search_space=space, evaluator=evaluator, n_trials=6)

    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE, TrialState.FAIL] * 3
    assert study.trials[1].user_attrs["fail_reason"] == "ValueError: Odd trial 1."

    summary = summarize(study)
    assert summary["n_trials"] == 6 and summary["n_complete"] == 3
    assert summary["best_value"] == study.best_value
    assert summary["best_arch"] == study.best_trial.user_attrs["arch"]
    assert summary["trials"][1]["state"] == "FAIL"
    assert summary["trials"][1]["values"] is None
    assert study.best_trial.user_attrs["arch"] in format_leaderboard(study)


def test_nan_objective_is_a_failure() -> None:
    study = optuna.create_study()
    run_study(
        study, search_space=NASBench201Space(), evaluator=lambda t, a: float("nan"), n_trials=2
    )
    assert [t.state for t in study.trials] == [TrialState.FAIL] * 2


def test_system_exit_becomes_an_interrupt_with_no_running_trial() -> None:
    def evaluator(trial: optuna.Trial, arch) -> float:  # type: ignore[no-untyped-def]
        raise SystemExit(1)

    study = optuna.create_study()
    with pytest.raises(KeyboardInterrupt):
        run_study(study, search_space=NASBench201Space(), evaluator=evaluator, n_trials=3)
    assert [t.state for t in study.trials] == [TrialState.FAIL]


def test_resume_and_direction_check(tmp_path: Path, small_table: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    space = NASBench201Space()
    evaluator = TabularEvaluator(small_table)

    for expected in (3, 6):
        study = create_or_resume_study(
            study_name="s",
            storage=storage,
            directions=["maximize"],
            sampler=optuna.samplers.RandomSampler(0),
        )
        run_study(study, search_space=space, evaluator=evaluator, n_trials=3)
        assert len(study.trials) == expected

    with pytest.raises(StudyConfigError, match=r"optimises directions \['maximize'\]"):
        create_or_resume_study(study_name="s", storage=storage, directions=["minimize"])
    with pytest.raises(StudyConfigError, match="`study.directions`"):
        create_or_resume_study(study_name="t", storage=storage, directions=["upwards"])


def test_multi_objective_summary() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"])
    run_study(
        study,
        search_space=NASBench201Space(),
        evaluator=lambda t, a: [float(t.number), float(t.number % 3)],
        n_trials=6,
    )
    summary = summarize(study)
    assert summary["directions"] == ["maximize", "minimize"]
    assert "best_value" not in summary
    assert {b["number"] for b in summary["best_trials"]} == {t.number for t in study.best_trials}


class _PruneOddTrials(optuna.pruners.BasePruner):
    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return trial.number % 2 == 1


def test_pruner_is_asked_before_the_evaluator_runs() -> None:
    evaluated = []

    def evaluator(trial: optuna.Trial, arch) -> float:  # type: ignore[no-untyped-def]
        evaluated.append(trial.number)
        return 1.0

    study = optuna.create_study(pruner=_PruneOddTrials())
    run_study(study, search_space=NASBench201Space(), evaluator=evaluator, n_trials=4)

    assert evaluated == [0, 2]
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.PRUNED] * 2
