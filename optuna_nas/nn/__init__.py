"""Networks: primitive ops, child networks and supernets."""

from optuna_nas.nn._child import NB201Cell
from optuna_nas.nn._child import NB201Network
from optuna_nas.nn._module import ClassificationModule
from optuna_nas.nn._module import NonFiniteLossError
from optuna_nas.nn._module import count_flops
from optuna_nas.nn._module import count_parameters
from optuna_nas.nn._ops import OPS
from optuna_nas.nn._ops import ReLUConvBN
from optuna_nas.nn._ops import ResidualReduction
from optuna_nas.nn._ops import Zero
from optuna_nas.nn._ops import build_op
from optuna_nas.nn._supernet import CHECKPOINT_ATTR
from optuna_nas.nn._supernet import MixedEdge
from optuna_nas.nn._supernet import NB201Supernet
from optuna_nas.nn._supernet import SupernetCell
from optuna_nas.nn._supernet import SupernetModule
from optuna_nas.nn._supernet import fit_supernet
from optuna_nas.nn._supernet import load_supernet

__all__ = [
    "ClassificationModule",
    "NB201Cell",
    "NB201Network",
    "NonFiniteLossError",
    "OPS",
    "ReLUConvBN",
    "ResidualReduction",
    "Zero",
    "build_op",
    "CHECKPOINT_ATTR",
    "MixedEdge",
    "NB201Supernet",
    "SupernetCell",
    "SupernetModule",
    "fit_supernet",
    "load_supernet",
    "count_flops",
    "count_parameters",
]
