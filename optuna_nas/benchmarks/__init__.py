"""Benchmarks of the search strategies on tabular NAS benchmarks."""

from optuna_nas.benchmarks._nb201 import RunResult
from optuna_nas.benchmarks._nb201 import markdown_table
from optuna_nas.benchmarks._nb201 import run_benchmark
from optuna_nas.benchmarks._nb201 import run_strategy

__all__ = [
    "RunResult",
    "markdown_table",
    "run_benchmark",
    "run_strategy",
]
