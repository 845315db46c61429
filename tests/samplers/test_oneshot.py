"""What the one-shot samplers share: the main job, and workers sharing one storage."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import optuna
import pytest
import torch
from hydra import compose
from hydra import initialize_config_dir

import optuna_nas.samplers
from optuna_nas._cli import run_job
from optuna_nas._hydra import CONFIG_DIR
from optuna_nas.data import DigitsDataModule
from optuna_nas.nn import CHECKPOINT_ATTR
from optuna_nas.spaces import NASBench201Space


@pytest.mark.parametrize("strategy", ["enas", "darts"])
def test_a_tiny_search_in_the_main_job(tmp_path: Path, strategy: str) -> None:
    overrides = [
        f"strategy={strategy}",
        "evaluator=supernet",
        "evaluator.calibration_batches=1",
        "dataset=digits",
        "+dataset.limit=300",
        "search_space.channels=4",
        f"study.name=tiny-{strategy}",
        f"study.storage=sqlite:///{tmp_path / 'study.db'}",
        "study.n_trials=2",
        "tracking.enabled=false",
        f"strategy.sampler.directory={tmp_path / 'oneshot'}",
        "strategy.sampler.steps_per_trial=2",
        "strategy.sampler.warmup_steps=1",
    ]
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(config_name="config", overrides=overrides)

    summary = run_job(cfg, tmp_path)

    assert summary["n_complete"] == 2
    written = json.loads((tmp_path / "summary.json").read_text())
    assert all(trial["arch"] and trial["state"] == "COMPLETE" for trial in written["trials"])
    assert (tmp_path / "oneshot" / f"tiny-{strategy}" / "supernet.ckpt").is_file()


@pytest.mark.parametrize("name", ["ENASSampler", "DARTSSampler"])
def test_workers_sharing_a_storage_take_turns_on_the_supernet(
    tmp_path: Path, space: NASBench201Space, digits: DigitsDataModule, name: str
) -> None:
    # Two samplers (as two workers) on one storage, each in its own thread: the search lock
    # makes every fit resume from the other's checkpoint, so no training step is lost.
    storage = optuna.storages.InMemoryStorage()
    options = {"steps_per_trial": 3, "warmup_steps": 2, "schedule_steps": 20, "seed": 0}
    samplers = [
        getattr(optuna_nas.samplers, name)(
            search_space=space, datamodule=digits, directory=tmp_path, **options
        )
        for _ in range(2)
    ]
    optuna.create_study(study_name="shared", storage=storage, direction="maximize")

    def work(sampler: optuna.samplers.BaseSampler) -> None:
        study = optuna.load_study(study_name="shared", storage=storage, sampler=sampler)
        study.optimize(lambda trial: float(len(str(space.suggest(trial)))), n_trials=2)

    threads = [threading.Thread(target=work, args=(sampler,)) for sampler in samplers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    study = optuna.load_study(study_name="shared", storage=storage)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 4
    checkpoint = torch.load(study.user_attrs[CHECKPOINT_ATTR], weights_only=True)
    assert checkpoint["supernet_method"]["steps_done"] == 2 + 4 * 3
