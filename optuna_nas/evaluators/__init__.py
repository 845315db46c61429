"""Evaluators: callables ``(trial, architecture) -> value(s)``."""

from optuna_nas.evaluators._base import Evaluator
from optuna_nas.evaluators._proxy import ProxyEvaluator
from optuna_nas.evaluators._supernet import SupernetEvaluator
from optuna_nas.evaluators._tabular import TabularEvaluator
from optuna_nas.evaluators._tabular import load_table
from optuna_nas.evaluators._train import TrainEvaluator
from optuna_nas.evaluators._train import TrainingInterrupted
from optuna_nas.evaluators._train import TrialReportCallback

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
