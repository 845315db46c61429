from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from optuna_nas.evaluators import TabularEvaluator
from optuna_nas.spaces import NASBench201Space


def test_lookup_and_objective(small_table: Path) -> None:
    space = NASBench201Space()
    evaluator = TabularEvaluator(small_table)
    best = space.make(["nor_conv_3x3"] * 6)

    assert evaluator.lookup(best) == evaluator.optimum == 92.0
    assert evaluator.lookup(space.make(["none"] * 6)) == 80.0

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))
    study.optimize(lambda t: evaluator(t, space.suggest(t)), n_trials=5)
    for trial in study.trials:
        assert trial.value == evaluator.lookup(space.from_params(trial.params))
        assert trial.user_attrs["test_accuracy"] == trial.value


def test_missing_architecture_and_bad_files(tmp_path: Path, small_table: Path) -> None:
    partial = tmp_path / "partial.csv"
    partial.write_text("arch,test_accuracy\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,10\n")
    evaluator = TabularEvaluator(partial)

    with pytest.raises(KeyError, match="is not in the table"):
        evaluator.lookup(NASBench201Space().make(["skip_connect"] * 6))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        TabularEvaluator(tmp_path / "nope.csv")
    with pytest.raises(ValueError, match="`metric` must be a column"):
        TabularEvaluator(small_table, metric="valid_accuracy")


def test_real_table(nb201_table: Path) -> None:
    evaluator = TabularEvaluator(nb201_table)
    assert len(evaluator.table) == 15625
    assert round(evaluator.optimum, 2) == 94.37
