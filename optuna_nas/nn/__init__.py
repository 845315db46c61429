"""Networks: primitive ops, child networks, supernets and their Lightning modules.

The Lightning-based names are imported on first use, so building a child network does not
import Lightning.
"""

from typing import TYPE_CHECKING

from optuna_nas._lazy import lazy_exports
from optuna_nas.nn._child import NB201Cell
from optuna_nas.nn._child import NB201Network
from optuna_nas.nn._child import NB201Skeleton
from optuna_nas.nn._measure import count_flops
from optuna_nas.nn._measure import count_parameters
from optuna_nas.nn._ops import OPS
from optuna_nas.nn._ops import ReLUConvBN
from optuna_nas.nn._ops import ResidualReduction
from optuna_nas.nn._ops import Zero
from optuna_nas.nn._ops import build_op

if TYPE_CHECKING:
    from optuna_nas.nn._module import ClassificationModule
    from optuna_nas.nn._module import NonFiniteLossError
    from optuna_nas.nn._supernet import CHECKPOINT_ATTR
    from optuna_nas.nn._supernet import MixedEdge
    from optuna_nas.nn._supernet import NB201Supernet
    from optuna_nas.nn._supernet import SupernetCell
    from optuna_nas.nn._supernet import SupernetModule
    from optuna_nas.nn._supernet import fit_supernet
    from optuna_nas.nn._supernet import load_supernet

__getattr__ = lazy_exports(
    __name__,
    {
        "ClassificationModule": "optuna_nas.nn._module",
        "NonFiniteLossError": "optuna_nas.nn._module",
        "CHECKPOINT_ATTR": "optuna_nas.nn._supernet",
        "MixedEdge": "optuna_nas.nn._supernet",
        "NB201Supernet": "optuna_nas.nn._supernet",
        "SupernetCell": "optuna_nas.nn._supernet",
        "SupernetModule": "optuna_nas.nn._supernet",
        "fit_supernet": "optuna_nas.nn._supernet",
        "load_supernet": "optuna_nas.nn._supernet",
    },
)

__all__ = [
    "CHECKPOINT_ATTR",
    "ClassificationModule",
    "MixedEdge",
    "NB201Cell",
    "NB201Network",
    "NB201Skeleton",
    "NB201Supernet",
    "NonFiniteLossError",
    "OPS",
    "ReLUConvBN",
    "ResidualReduction",
    "SupernetCell",
    "SupernetModule",
    "Zero",
    "build_op",
    "count_flops",
    "count_parameters",
    "fit_supernet",
    "load_supernet",
]
