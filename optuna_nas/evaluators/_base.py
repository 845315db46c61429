"""The evaluator contract: a callable that turns a trial's architecture into its value(s)."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna

    from optuna_nas.spaces import Architecture


class Evaluator(abc.ABC):
    """Score an architecture inside a trial.

    An evaluator reports intermediate values to the trial, records what it measured as user
    attributes (``n_params``, ``seconds``, ...), and raises ``optuna.TrialPruned`` or a clear
    exception; the study runner turns exceptions into failed trials.
    """

    @abc.abstractmethod
    def __call__(
        self, trial: optuna.trial.BaseTrial, arch: Architecture
    ) -> float | Sequence[float]:
        """Return the objective value(s) of ``arch``."""
