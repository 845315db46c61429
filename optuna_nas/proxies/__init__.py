"""Zero-cost proxies: training-free scores of untrained networks from one minibatch."""

# ruff: noqa: I001  (the project re-exports one name per line)
from optuna_nas.proxies import _activation  # noqa: F401  (registers nwot, jacob_cov, zen)
from optuna_nas.proxies import _cost  # noqa: F401  (registers params, flops)
from optuna_nas.proxies import _gradient  # noqa: F401  (registers the gradient proxies)
from optuna_nas.proxies._ensemble import DEFAULT_ENSEMBLE
from optuna_nas.proxies._ensemble import ensemble_percentile
from optuna_nas.proxies._ensemble import ensemble_scores
from optuna_nas.proxies._registry import ENSEMBLE
from optuna_nas.proxies._registry import FLOOR
from optuna_nas.proxies._registry import PROXIES
from optuna_nas.proxies._registry import Proxy
from optuna_nas.proxies._registry import ProxyContext
from optuna_nas.proxies._registry import available_proxies
from optuna_nas.proxies._registry import get_proxy
from optuna_nas.proxies._registry import register
from optuna_nas.proxies._registry import score
from optuna_nas.proxies._scorer import ProxyScorer
from optuna_nas.proxies._scorer import minibatch

__all__ = [
    "DEFAULT_ENSEMBLE",
    "ENSEMBLE",
    "FLOOR",
    "PROXIES",
    "Proxy",
    "ProxyContext",
    "ProxyScorer",
    "available_proxies",
    "ensemble_percentile",
    "ensemble_scores",
    "get_proxy",
    "minibatch",
    "register",
    "score",
]
