"""Search NAS-Bench-201 cells on scikit-learn's digits with plain Optuna (no Hydra).

Run: ``python examples/plain_optuna.py`` (about a minute on two CPU cores).
"""

from __future__ import annotations

import logging

import optuna

from optuna_nas import NASBench201Space
from optuna_nas.data import DigitsDataModule
from optuna_nas.evaluators import TrainEvaluator


def main() -> None:
    # Keep per-child training quiet; this is the application, so it may set levels.
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    space = NASBench201Space(channels=8, cells_per_stage=1)
    evaluator = TrainEvaluator(
        search_space=space, datamodule=DigitsDataModule(batch_size=64, seed=0), epochs=2
    )

    def objective(trial: optuna.Trial) -> float:
        return evaluator(trial, space.suggest(trial))

    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=0),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3),
    )
    study.optimize(objective, n_trials=6, show_progress_bar=True)

    best = space.from_params(study.best_params)
    print(f"Best validation accuracy {study.best_value:.2f}% with cell {best}")
    print(f"Parameters: {study.best_trial.user_attrs['n_params']}")


if __name__ == "__main__":
    main()
