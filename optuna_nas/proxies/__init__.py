"""Zero-cost proxies: training-free scores of untrained networks from one minibatch."""

from optuna_nas.proxies._context import ENSEMBLE
from optuna_nas.proxies._context import FLOOR
from optuna_nas.proxies._context import ProxyContext
from optuna_nas.proxies._context import prunable_layers
from optuna_nas.proxies._ensemble import DEFAULT_ENSEMBLE
from optuna_nas.proxies._ensemble import SEARCH_ENSEMBLE
from optuna_nas.proxies._ensemble import ensemble_percentile
from optuna_nas.proxies._ensemble import ensemble_scores
from optuna_nas.proxies._registry import PROXIES
from optuna_nas.proxies._registry import Proxy
from optuna_nas.proxies._registry import available_proxies
from optuna_nas.proxies._registry import expand
from optuna_nas.proxies._registry import get_proxy
from optuna_nas.proxies._registry import register
from optuna_nas.proxies._registry import score
from optuna_nas.proxies._scorer import DATA_FREE_PROXIES
from optuna_nas.proxies._scorer import ProxyScorer
from optuna_nas.proxies._scorer import minibatch

__all__ = [
    "DATA_FREE_PROXIES",
    "DEFAULT_ENSEMBLE",
    "ENSEMBLE",
    "FLOOR",
    "PROXIES",
    "Proxy",
    "ProxyContext",
    "ProxyScorer",
    "SEARCH_ENSEMBLE",
    "available_proxies",
    "ensemble_percentile",
    "ensemble_scores",
    "expand",
    "get_proxy",
    "minibatch",
    "prunable_layers",
    "register",
    "score",
]
