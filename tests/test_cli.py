"""End-to-end runs of the ``optuna-nas`` main job in a subprocess, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from hydra import compose
from hydra import initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from mlflow import MlflowClient
from omegaconf import open_dict

from optuna_nas._cli import ConfigError
from optuna_nas._cli import build
from optuna_nas._hydra import CONFIG_DIR


def _run(cwd: Path, *overrides: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HYDRA_FULL_ERROR": "0"}
    return subprocess.run(
        [sys.executable, "-m", "optuna_nas", f"hydra.run.dir={cwd / 'run'}", *overrides],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_train_job_end_to_end_and_resume(tmp_path: Path) -> None:
    overrides = ("study.n_trials=2", "evaluator.epochs=1", "dataset.batch_size=128")
    done = _run(tmp_path, *overrides)
    assert done.returncode == 0, done.stderr

    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["study_name"] == "nas-tpe-train-seed0"
    assert summary["directions"] == ["maximize"]
    assert len(summary["trials"]) == 2
    assert all(t["state"] == "COMPLETE" for t in summary["trials"])
    assert summary["best_arch"] in done.stdout
    assert "rank" in done.stdout

    study = optuna.load_study(
        study_name=summary["study_name"], storage="sqlite:///" + str(tmp_path / "optuna_nas.db")
    )
    assert len(study.trials) == 2
    assert study.best_value == summary["best_value"]

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("optuna-nas").experiment_id])
    assert len(runs) == 3
    assert all(r.info.status == "FINISHED" for r in runs)
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert all(len(client.get_metric_history(r.info.run_id, "val_acc")) == 1 for r in children)
    assert all("edge_0_to_1" in r.data.params for r in children)

    again = _run(tmp_path, *overrides)
    assert again.returncode == 0, again.stderr
    assert len(json.loads((tmp_path / "run" / "summary.json").read_text())["trials"]) == 4

    refused = _run(tmp_path, *overrides, "study.directions=[minimize]")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1].startswith("optuna-nas: error: The stored")


def test_tabular_job_is_fast_and_multi_objective_works(tmp_path: Path, small_table) -> None:
    done = _run(
        tmp_path,
        "evaluator=tabular",
        f"evaluator.table={small_table}",
        "study.n_trials=30",
        "tracking.enabled=false",
        "strategy=random",
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["n_complete"] == 30
    assert summary["best_value"] == max(t["values"][0] for t in summary["trials"])

    # The found cell, retrained (here: looked up again) by strategy=fixed from summary.json.
    searched = tmp_path / "searched.json"
    (tmp_path / "run" / "summary.json").rename(searched)
    again = _run(
        tmp_path,
        "evaluator=tabular",
        f"evaluator.table={small_table}",
        "study.n_trials=2",
        "tracking.enabled=false",
        "strategy=fixed",
        f"strategy.sampler.architecture={searched}",
    )
    assert again.returncode == 0, again.stderr
    retrained = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert retrained["study_name"] == "nas-fixed-tabular-seed0"
    assert [t["arch"] for t in retrained["trials"]] == [summary["best_arch"]] * 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (("dataset=npz",), "`dataset.path` must be set"),
        (("dataset=npz", "dataset.path=/no/such.npz"), "does not exist"),
        (("study.directions=[maximize,minimize]",), "one entry per evaluator objective"),
        (("study.directions=[sideways]",), "`study.directions` must only hold"),
        (("evaluator.epochs=0",), "`evaluator.epochs` must be a positive integer"),
        (("strategy=fixed",), "`strategy.sampler.architecture` must be set"),
        (
            ("strategy=fixed", "strategy.sampler.architecture=/no/summary.json"),
            "no such file exists",
        ),
    ],
)
def test_bad_configs_are_one_line_errors(overrides: tuple[str, ...], message: str) -> None:
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("config", overrides=list(overrides), return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)
        with open_dict(cfg):
            del cfg["hydra"]  # the job sees its config without Hydra's own node
    with pytest.raises(ConfigError) as info:
        build(cfg)

    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_config_stops_the_job_before_anything_is_written(tmp_path: Path) -> None:
    done = _run(tmp_path, "evaluator=tabular", "evaluator.table=/no/such.csv")

    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "optuna-nas: error: `evaluator`: The benchmark table '/no/such.csv' does not exist."
    )
    assert not (tmp_path / "optuna_nas.db").exists()
    assert not (tmp_path / "mlflow.db").exists()


def test_unknown_option_names_the_choices(tmp_path: Path) -> None:
    done = _run(tmp_path, "strategy=simulated_annealing")
    assert done.returncode != 0
    assert "Could not find 'strategy/simulated_annealing'" in done.stderr
    assert "tpe" in done.stderr
