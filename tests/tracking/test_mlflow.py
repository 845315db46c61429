from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient

from optuna_nas._study import run_study
from optuna_nas.spaces import NASBench201Space
from optuna_nas.tracking import PARENT_RUN_ATTR
from optuna_nas.tracking import MLflowTracker
from optuna_nas.tracking import flatten


def _evaluator(trial: optuna.Trial, arch) -> float:  # type: ignore[no-untyped-def]
    trial.set_user_attr("history", {"val_acc": [50.0, 60.0], "val_loss": [1.0, 0.5]})
    trial.set_user_attr("n_params", 123)
    if trial.number == 1:
        raise optuna.TrialPruned("Pruned for the test.")
    if trial.number == 2:
        raise RuntimeError("Broken on purpose.")
    return 60.0 + trial.number


def test_flatten() -> None:
    assert flatten({"a": {"b": 1, "c": [1, 2]}, "d": None}) == {
        "a.b": "1",
        "a.c": "[1, 2]",
        "d": "None",
    }


@pytest.fixture
def tracking_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def test_parent_and_nested_runs(tracking_uri: str) -> None:
    space = NASBench201Space()
    tracker = MLflowTracker(
        tracking_uri=tracking_uri, experiment="test", config={"strategy": {"n": 1}}, seed=3
    )
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))
    run_study(study, search_space=space, evaluator=_evaluator, n_trials=4, tracker=tracker)

    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("test")
    runs = client.search_runs([experiment.experiment_id])
    parent = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = {
        int(r.data.tags["optuna.trial_number"]): r
        for r in runs
        if "mlflow.parentRunId" in r.data.tags
    }

    assert len(parent) == 1 and len(children) == 4
    assert parent[0].info.status == "FINISHED"
    assert parent[0].data.params["strategy.n"] == "1"
    assert parent[0].data.metrics["best_value"] == 63.0
    assert study.user_attrs[PARENT_RUN_ATTR] == parent[0].info.run_id

    assert children[0].info.status == "FINISHED"
    assert children[0].data.tags["optuna.state"] == "COMPLETE"
    assert children[0].data.params["arch"] == study.trials[0].user_attrs["arch"]
    assert children[0].data.params["seed"] == "3"
    assert set(space.to_params(space.parse(children[0].data.params["arch"]))) < set(
        children[0].data.params
    )
    assert children[0].data.metrics["value"] == 60.0
    assert children[0].data.metrics["n_params"] == 123.0
    history = client.get_metric_history(children[0].info.run_id, "val_acc")
    assert [(m.step, m.value) for m in history] == [(0, 50.0), (1, 60.0)]

    assert children[1].info.status == "KILLED"
    assert children[1].data.tags["optuna.state"] == "PRUNED"
    assert children[2].info.status == "FAILED"
    assert "Broken on purpose" in children[2].data.tags["optuna.fail_reason"]
    assert children[3].data.tags["optuna.state"] == "COMPLETE"
    assert all(r.info.status != "RUNNING" for r in runs)


def test_resumed_study_reuses_its_parent_run(tracking_uri: str, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    space = NASBench201Space()
    for _ in range(2):
        study = optuna.create_study(
            study_name="resume", storage=storage, direction="maximize", load_if_exists=True
        )
        tracker = MLflowTracker(tracking_uri=tracking_uri, experiment="resume")
        run_study(
            study, search_space=space, evaluator=lambda t, a: 1.0, n_trials=1, tracker=tracker
        )

    client = MlflowClient(tracking_uri)
    runs = client.search_runs([client.get_experiment_by_name("resume").experiment_id])
    assert len([r for r in runs if "mlflow.parentRunId" not in r.data.tags]) == 1
    assert len(runs) == 3
