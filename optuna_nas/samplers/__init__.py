"""Architecture search strategies as Optuna samplers."""

from optuna_nas.samplers._base import ArchitectureSampler
from optuna_nas.samplers._base import History
from optuna_nas.samplers._base import TrialRecord
from optuna_nas.samplers._controller import LSTMController
from optuna_nas.samplers._darts import DARTSSampler
from optuna_nas.samplers._enas import ENASSampler
from optuna_nas.samplers._evolution import RegularizedEvolutionSampler
from optuna_nas.samplers._predictor import PredictorEvolutionSampler
from optuna_nas.samplers._reinforce import REINFORCESampler
from optuna_nas.samplers._zero_cost import ZeroCostSampler

__all__ = [
    "ArchitectureSampler",
    "DARTSSampler",
    "ENASSampler",
    "History",
    "LSTMController",
    "PredictorEvolutionSampler",
    "REINFORCESampler",
    "RegularizedEvolutionSampler",
    "TrialRecord",
    "ZeroCostSampler",
]
