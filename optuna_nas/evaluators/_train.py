"""Train each child network with Lightning and score it on the validation split."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any

import optuna
import pytorch_lightning as pl
import torch

from optuna_nas.evaluators._base import Evaluator
from optuna_nas.nn import ClassificationModule
from optuna_nas.nn import count_flops
from optuna_nas.nn import count_parameters

if TYPE_CHECKING:
    from optuna_nas.data import ArrayDataModule
    from optuna_nas.spaces import Architecture
    from optuna_nas.spaces import SearchSpace

_logger = logging.getLogger(__name__)

#: The objectives a :class:`TrainEvaluator` can return, with their natural direction.
OBJECTIVES = {
    "accuracy": "maximize",
    "n_params": "minimize",
    "flops": "minimize",
    "latency_ms": "minimize",
}


class TrainingInterrupted(KeyboardInterrupt):
    """Training was stopped by Ctrl-C or SIGTERM.

    Lightning turns both into ``SystemExit``, which Optuna does not catch, so the trial would
    stay RUNNING. As a ``KeyboardInterrupt`` Optuna records the trial as FAIL and re-raises.
    """


class TrialReportCallback(pl.Callback):
    """Report validation accuracy to an Optuna trial after every epoch and obey its pruner.

    Args:
        trial: The trial to report to.
        monitor: The logged metric to report.
        scale: Factor applied to the metric (100 reports accuracy in percent).
    """

    def __init__(
        self, trial: optuna.trial.BaseTrial, *, monitor: str = "val_acc", scale: float = 100.0
    ) -> None:
        self.trial = trial
        self.monitor = monitor
        self.scale = scale
        self.history: dict[str, list[float]] = {"val_acc": [], "val_loss": [], "train_loss": []}

    def on_validation_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return

        metrics = trainer.callback_metrics
        value = float(metrics[self.monitor]) * self.scale
        self.history["val_acc"].append(value)
        self.history["val_loss"].append(float(metrics.get("val_loss", float("nan"))))
        self.history["train_loss"].append(float(metrics.get("train_loss", float("nan"))))
        epoch = trainer.current_epoch

        # Optuna supports intermediate values and pruning for single-objective studies only.
        if len(self.trial.study.directions) > 1:
            return
        self.trial.report(value, epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(
                f"Pruned after epoch {epoch} with validation accuracy {value:.2f}."
            )


class TrainEvaluator(Evaluator):
    """Train the child network of an architecture and return its validation accuracy.

    The network is trained with a Lightning ``Trainer`` on the data module's training split
    (cross-entropy; SGD with momentum, cosine schedule and weight decay as in NAS-Bench-201)
    and validated after every epoch; each epoch's accuracy (in percent) is reported to the
    trial so that Optuna pruners work. The parameter count, training time and per-epoch
    history are recorded as user attributes of the trial.

    Args:
        search_space: The space that builds the network.
        datamodule: The data, e.g. :class:`optuna_nas.data.DigitsDataModule`.
        epochs: Training epochs per child.
        lr: Initial learning rate.
        momentum: SGD momentum.
        weight_decay: Weight decay.
        nesterov: Use Nesterov momentum.
        objectives: What to return, in order: ``accuracy`` (validation, percent),
            ``n_params``, ``flops`` (one image, counted by ``torch.utils.flop_counter``) and
            ``latency_ms`` (inference time of one batch); several make a multi-objective
            study, e.g. accuracy against latency for hardware-aware search.
        test: Also measure test accuracy after training (``test_accuracy`` user attribute).
        seed: Seed of weight initialisation and data order; trial ``n`` uses ``seed + n``.
        verbose: Show Lightning's progress bars and summaries.
        trainer_kwargs: Further ``pytorch_lightning.Trainer`` arguments (``accelerator``,
            ``devices``, ``limit_train_batches``, ...).
    """

    def __init__(
        self,
        *,
        search_space: SearchSpace,
        datamodule: ArrayDataModule,
        epochs: int = 3,
        lr: float = 0.1,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        nesterov: bool = True,
        objectives: Sequence[str] = ("accuracy",),
        test: bool = False,
        seed: int = 0,
        verbose: bool = False,
        trainer_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if epochs < 1:
            raise ValueError(f"`evaluator.epochs` must be a positive integer, but got {epochs}.")
        unknown = [name for name in objectives if name not in OBJECTIVES]
        if unknown or not objectives:
            raise ValueError(
                f"`evaluator.objectives` must be a non-empty list drawn from "
                f"{list(OBJECTIVES)}, but got {list(objectives)}."
            )

        self.search_space = search_space
        self.datamodule = datamodule
        self.epochs = epochs
        self.optimiser = {
            "lr": lr,
            "momentum": momentum,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
        }
        self.objectives = tuple(objectives)
        self.test = test
        self.seed = seed
        self.verbose = verbose
        self.trainer_kwargs = dict(trainer_kwargs or {})

    @property
    def directions(self) -> list[str]:
        """The study directions matching :attr:`objectives`."""
        return [OBJECTIVES[name] for name in self.objectives]

    def __call__(self, trial: optuna.trial.BaseTrial, arch: Architecture) -> float | list[float]:
        datamodule = self.datamodule
        datamodule.setup()

        with torch.random.fork_rng():
            torch.manual_seed(self.seed + getattr(trial, "number", 0))
            network = self.search_space.build(
                arch, in_channels=datamodule.in_channels, num_classes=datamodule.num_classes
            )
            n_params = count_parameters(network)
            trial.set_user_attr("n_params", n_params)
            module = ClassificationModule(
                network, num_classes=datamodule.num_classes, epochs=self.epochs, **self.optimiser
            )
            callback = TrialReportCallback(trial)
            trainer = self._trainer(callback)

            started = time.perf_counter()
            try:
                trainer.fit(module, datamodule=datamodule)
            except SystemExit as exc:
                raise TrainingInterrupted(
                    f"Training of {arch} was interrupted (Ctrl-C or SIGTERM)."
                ) from exc
            finally:
                trial.set_user_attr("seconds", time.perf_counter() - started)
                trial.set_user_attr("history", callback.history)

        if not callback.history["val_acc"]:
            raise RuntimeError(f"Training of {arch} ended before its first validation.")
        accuracy = callback.history["val_acc"][-1]
        trial.set_user_attr("val_accuracy", accuracy)

        if self.test:
            result = trainer.test(module, datamodule=datamodule, verbose=False)
            trial.set_user_attr("test_accuracy", float(result[0]["test_acc"]) * 100.0)

        values = {"accuracy": accuracy, "n_params": float(n_params)}
        if "flops" in self.objectives:
            values["flops"] = float(count_flops(network, datamodule.batch(1, seed=0)[0]))
            trial.set_user_attr("flops", values["flops"])
        if "latency_ms" in self.objectives:
            values["latency_ms"] = self._latency(network, datamodule)
            trial.set_user_attr("latency_ms", values["latency_ms"])

        chosen = [values[name] for name in self.objectives]
        return chosen[0] if len(chosen) == 1 else chosen

    def _trainer(self, callback: pl.Callback) -> pl.Trainer:
        options: dict[str, Any] = {
            "max_epochs": self.epochs,
            "accelerator": "cpu",
            "devices": 1,
            "logger": False,
            "enable_checkpointing": False,
            "enable_progress_bar": self.verbose,
            "enable_model_summary": self.verbose,
            "num_sanity_val_steps": 0,
        }
        options.update(self.trainer_kwargs)
        options["callbacks"] = [callback, *self.trainer_kwargs.get("callbacks", [])]
        return pl.Trainer(**options)

    @staticmethod
    def _latency(network: torch.nn.Module, datamodule: ArrayDataModule) -> float:
        images, _ = datamodule.batch(seed=0)
        network.eval()
        with torch.no_grad():
            network(images)
            started = time.perf_counter()
            for _ in range(3):
                network(images)
        return (time.perf_counter() - started) / 3 * 1000.0
