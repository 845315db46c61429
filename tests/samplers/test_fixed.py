from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest

from optuna_nas.samplers import FixedArchitectureSampler

CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|none~1|none~2|"


def test_every_trial_proposes_the_given_architecture(space) -> None:
    sampler = FixedArchitectureSampler(search_space=space, architecture=CELL, seed=0)
    study = optuna.create_study(sampler=sampler, direction="maximize")

    def objective(trial: optuna.Trial) -> float:
        space.suggest(trial)
        return 1.0

    study.optimize(objective, n_trials=3)

    assert [space.from_params(t.params).string for t in study.trials] == [CELL] * 3


def test_reads_the_best_architecture_of_a_summary(space, tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"best_arch": CELL, "best_trials": []}))

    sampler = FixedArchitectureSampler(search_space=space, architecture=path)

    assert sampler.architecture.string == CELL


def test_bad_architectures_are_clear_errors(space, tmp_path: Path) -> None:
    empty = tmp_path / "summary.json"
    empty.write_text(json.dumps({"best_trials": []}))

    with pytest.raises(ValueError, match="completed no trial"):
        FixedArchitectureSampler(search_space=space, architecture=empty)
    with pytest.raises(FileNotFoundError, match="no such file"):
        FixedArchitectureSampler(search_space=space, architecture=tmp_path / "none.json")
    bad_op = CELL.replace("none", "not_an_op")
    with pytest.raises(ValueError, match="not_an_op"):
        FixedArchitectureSampler(search_space=space, architecture=bad_op)
