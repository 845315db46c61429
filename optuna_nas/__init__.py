"""optuna-nas: neural architecture search as Optuna samplers, pruners and evaluators."""

from optuna_nas.spaces import Architecture
from optuna_nas.spaces import NASBench201Space
from optuna_nas.spaces import SearchSpace

__version__ = "0.1.0"

__all__ = [
    "Architecture",
    "NASBench201Space",
    "SearchSpace",
    "__version__",
]
