"""Search spaces: architectures as one categorical Optuna parameter per decision."""

from optuna_nas.spaces._base import Architecture
from optuna_nas.spaces._base import Decision
from optuna_nas.spaces._base import SearchSpace
from optuna_nas.spaces._nb201 import NB201_EDGES
from optuna_nas.spaces._nb201 import NB201_NODES
from optuna_nas.spaces._nb201 import NB201_OPS
from optuna_nas.spaces._nb201 import NASBench201Space

__all__ = [
    "Architecture",
    "Decision",
    "NASBench201Space",
    "NB201_EDGES",
    "NB201_NODES",
    "NB201_OPS",
    "SearchSpace",
]
