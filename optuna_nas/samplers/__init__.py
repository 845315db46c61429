"""Architecture search strategies as Optuna samplers.

The one-shot samplers (ENAS, DARTS) train Lightning supernets and are imported on first use.
"""

from typing import TYPE_CHECKING

from optuna_nas._lazy import lazy_exports
from optuna_nas.samplers._base import ArchitectureSampler
from optuna_nas.samplers._base import History
from optuna_nas.samplers._base import TrialRecord
from optuna_nas.samplers._controller import LSTMController
from optuna_nas.samplers._evolution import RegularizedEvolutionSampler
from optuna_nas.samplers._fixed import FixedArchitectureSampler
from optuna_nas.samplers._predictor import PredictorEvolutionSampler
from optuna_nas.samplers._reinforce import REINFORCESampler
from optuna_nas.samplers._zero_cost import ZeroCostSampler

if TYPE_CHECKING:
    from optuna_nas.samplers._darts import DARTSSampler
    from optuna_nas.samplers._enas import ENASSampler

__getattr__ = lazy_exports(
    __name__,
    {
        "DARTSSampler": "optuna_nas.samplers._darts",
        "ENASSampler": "optuna_nas.samplers._enas",
    },
)

__all__ = [
    "ArchitectureSampler",
    "DARTSSampler",
    "ENASSampler",
    "FixedArchitectureSampler",
    "History",
    "LSTMController",
    "PredictorEvolutionSampler",
    "REINFORCESampler",
    "RegularizedEvolutionSampler",
    "TrialRecord",
    "ZeroCostSampler",
]
