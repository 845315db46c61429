"""Evaluators: callables ``(trial, architecture) -> value(s)``."""

from optuna_nas.evaluators._base import Evaluator
from optuna_nas.evaluators._tabular import TabularEvaluator
from optuna_nas.evaluators._tabular import load_table

__all__ = [
    "Evaluator",
    "TabularEvaluator",
    "load_table",
]
