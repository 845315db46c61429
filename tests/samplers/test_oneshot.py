"""What the one-shot samplers share: running inside the main job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose
from hydra import initialize_config_dir

from optuna_nas._cli import run_job
from optuna_nas._hydra import CONFIG_DIR


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
