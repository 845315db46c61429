"""Experiment tracking: MLflow runs for studies and trials."""

from optuna_nas.tracking._mlflow import PARENT_RUN_ATTR
from optuna_nas.tracking._mlflow import MLflowTracker
from optuna_nas.tracking._mlflow import flatten

__all__ = [
    "MLflowTracker",
    "PARENT_RUN_ATTR",
    "flatten",
]
