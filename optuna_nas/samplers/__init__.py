"""Architecture search strategies as Optuna samplers."""
# ruff: noqa: I001 (the project keeps one re-export per line)

from optuna_nas.samplers._base import ArchitectureSampler
from optuna_nas.samplers._base import History
from optuna_nas.samplers._base import TrialRecord
from optuna_nas.samplers._evolution import RegularizedEvolutionSampler

__all__ = [
    "ArchitectureSampler",
    "History",
    "RegularizedEvolutionSampler",
    "TrialRecord",
]
