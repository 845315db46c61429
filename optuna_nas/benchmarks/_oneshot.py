"""Run a one-shot search (ENAS, DARTS, GDAS, DARTS-) and look its cell up in NAS-Bench-201.

Usage::

    python -m optuna_nas.benchmarks._oneshot --method gdas --seed 0 \\
        --table ../shared/benchmarks/nb201_cifar10.csv --minutes 20

Prints the derived cell, its NAS-Bench-201 CIFAR-10 accuracy, the search time and the
Kendall tau between the supernet's accuracies and the table's on ``--kendall`` uniformly
sampled cells (the ranking quality of weight sharing); ``--retrain-epochs`` also trains the
derived cell from scratch with :class:`optuna_nas.evaluators.TrainEvaluator`.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import optuna
from scipy.stats import kendalltau

from optuna_nas.data import DigitsDataModule
from optuna_nas.data import NpzDataModule
from optuna_nas.evaluators import SupernetEvaluator
from optuna_nas.evaluators import TrainEvaluator
from optuna_nas.evaluators import load_table
from optuna_nas.samplers import DARTSSampler
from optuna_nas.samplers import ENASSampler
from optuna_nas.spaces import NASBench201Space

_logger = logging.getLogger(__name__)

#: The methods of the benchmark: the sampler class and its own arguments.
METHODS: dict[str, tuple[type, dict[str, Any]]] = {
    "enas": (ENASSampler, {}),
    "gdas": (DARTSSampler, {"remedy": "gdas"}),
    "darts-": (DARTSSampler, {"remedy": "darts-"}),
    "darts": (DARTSSampler, {"remedy": "none", "order": 1}),
    "darts2": (DARTSSampler, {"remedy": "none", "order": 2}),
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=sorted(METHODS), default="gdas")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None, help="an .npz file; sklearn digits if unset")
    parser.add_argument("--table", required=True, help="NAS-Bench-201 CSV (arch, accuracy)")
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--cells", type=int, default=1, help="cells per stage")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--minutes", type=float, default=None, help="search time limit")
    parser.add_argument("--steps-per-trial", type=int, default=20)
    parser.add_argument("--warmup-steps", type=int, default=200)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--arch-lr", type=float, default=3e-3)
    parser.add_argument("--arch-warmup-steps", type=int, default=0)
    parser.add_argument("--controller-lr", type=float, default=3.5e-3)
    parser.add_argument("--kendall", type=int, default=100, help="cells for Kendall tau")
    parser.add_argument("--retrain-epochs", type=int, default=0)
    parser.add_argument("--out", default=None, help="write the figures to this JSON file")
    return parser.parse_args(argv)


def build_sampler(
    args: argparse.Namespace, space: NASBench201Space, datamodule: Any, directory: str
) -> DARTSSampler | ENASSampler:
    """Build the method's sampler with the command line's settings."""
    cls, extra = METHODS[args.method]
    schedule = args.warmup_steps + args.steps_per_trial * args.trials
    options: dict[str, Any] = {
        "search_space": space,
        "datamodule": datamodule,
        "directory": directory,
        "steps_per_trial": args.steps_per_trial,
        "warmup_steps": args.warmup_steps,
        "schedule_steps": schedule,
        "seed": args.seed,
        **extra,
    }
    if args.lr is not None:
        options["lr"] = args.lr
    if cls is DARTSSampler:
        options["arch_lr"] = args.arch_lr
        options["arch_warmup_steps"] = args.arch_warmup_steps
    else:
        options["controller_lr"] = args.controller_lr
    return cls(**options)


def derived_cell(study: optuna.Study, method: str) -> str:
    """The search's answer: DARTS's last derived cell, or ENAS's best child."""
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if method == "enas":
        return str(max(complete, key=lambda t: t.value).user_attrs["arch"])
    return str(complete[-1].system_attrs["darts:derived"])


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run one search and print (and optionally write) its figures."""
    args = parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    logging.getLogger("lightning_fabric").setLevel(logging.WARNING)

    table = load_table(args.table)
    space = NASBench201Space(channels=args.channels, cells_per_stage=args.cells)
    options = {"batch_size": args.batch_size, "seed": args.seed}
    datamodule = (
        DigitsDataModule(**options)
        if args.data is None
        else NpzDataModule(path=args.data, **options)
    )

    with tempfile.TemporaryDirectory(prefix="optuna-nas-oneshot-") as directory:
        sampler = build_sampler(args, space, datamodule, directory)
        evaluator = SupernetEvaluator.from_sampler(sampler)
        study = optuna.create_study(direction="maximize", sampler=sampler)

        def objective(trial: optuna.Trial) -> float:
            arch = space.suggest(trial)
            trial.set_user_attr("arch", str(arch))
            return evaluator(trial, arch)

        started = time.perf_counter()
        timeout = None if args.minutes is None else args.minutes * 60
        study.optimize(objective, n_trials=args.trials, timeout=timeout)
        seconds = time.perf_counter() - started

        cell = derived_cell(study, args.method)
        supernet = evaluator.supernet(study.user_attrs["supernet_checkpoint"])

        rng = random.Random(args.seed)
        sampled = [space.sample(rng) for _ in range(args.kendall)]
        shared = [evaluator.score(supernet, arch) for arch in sampled]
        tau = kendalltau(shared, [table[str(arch)] for arch in sampled]).statistic

    result: dict[str, Any] = {
        "method": args.method,
        "seed": args.seed,
        "data": args.data or "sklearn digits",
        "trials": len(study.trials),
        "search_seconds": round(seconds, 1),
        "derived": cell,
        "derived_nb201_cifar10": table[cell],
        "best_trial_cell": study.best_trial.user_attrs["arch"],
        "best_trial_nb201_cifar10": table[study.best_trial.user_attrs["arch"]],
        "kendall_tau": round(float(tau), 4),
        "kendall_cells": args.kendall,
    }
    if args.retrain_epochs:
        result["retrained_val_accuracy"] = retrain(
            cell, space, datamodule, args.retrain_epochs, args.seed
        )

    for key, value in result.items():
        print(f"{key}: {value}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=2)
    return result


def retrain(cell: str, space: NASBench201Space, datamodule: Any, epochs: int, seed: int) -> float:
    """Train ``cell`` from scratch with :class:`TrainEvaluator`; returns validation accuracy."""
    evaluator = TrainEvaluator(search_space=space, datamodule=datamodule, epochs=epochs, seed=seed)
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(space.to_params(space.parse(cell)))
    study.optimize(lambda trial: evaluator(trial, space.suggest(trial)), n_trials=1)
    return float(study.best_value)


if __name__ == "__main__":
    main()
