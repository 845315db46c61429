"""Evaluators: callables ``(trial, architecture) -> value(s)``.

The Lightning-based evaluators (training, supernet) are imported on first use.
"""

from typing import TYPE_CHECKING

from optuna_nas._lazy import lazy_exports
from optuna_nas.evaluators._base import Evaluator
from optuna_nas.evaluators._proxy import ProxyEvaluator
from optuna_nas.evaluators._tabular import TabularEvaluator
from optuna_nas.evaluators._tabular import load_table

if TYPE_CHECKING:
    from optuna_nas.evaluators._supernet import SupernetEvaluator
    from optuna_nas.evaluators._train import TrainEvaluator
    from optuna_nas.evaluators._train import TrainingInterrupted
    from optuna_nas.evaluators._train import TrialReportCallback

__getattr__ = lazy_exports(
    __name__,
    {
        "SupernetEvaluator": "optuna_nas.evaluators._supernet",
        "TrainEvaluator": "optuna_nas.evaluators._train",
        "TrainingInterrupted": "optuna_nas.evaluators._train",
        "TrialReportCallback": "optuna_nas.evaluators._train",
    },
)

__all__ = [
    "Evaluator",
    "ProxyEvaluator",
    "SupernetEvaluator",
    "TabularEvaluator",
    "TrainEvaluator",
    "TrainingInterrupted",
    "TrialReportCallback",
    "load_table",
]
