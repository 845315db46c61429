"""Performance predictors that learn an architecture's value from evaluated ones."""

from optuna_nas.predictors._transformer import ArchitectureTokenizer
from optuna_nas.predictors._transformer import TransformerPredictor

__all__ = [
    "ArchitectureTokenizer",
    "TransformerPredictor",
]
