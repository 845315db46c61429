"""Pruners: stop hopeless trials early."""

from optuna_nas.pruners._zero_cost import ZeroCostPruner

__all__ = [
    "ZeroCostPruner",
]
