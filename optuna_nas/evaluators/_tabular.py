"""Look architectures up in a tabular benchmark such as NAS-Bench-201."""

from __future__ import annotations

import csv
import functools
import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from optuna_nas.evaluators._base import Evaluator

if TYPE_CHECKING:
    import optuna

    from optuna_nas.spaces import Architecture

_logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=8)
def _read_table(path: str, metric: str, mtime: float) -> Mapping[str, float]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        if "arch" not in columns:
            raise ValueError(f"The table {path!r} needs an `arch` column; it has {columns}.")
        if metric not in columns:
            raise ValueError(
                f"`metric` must be a column of {path!r}, one of "
                f"{[c for c in columns if c != 'arch']}, but got {metric!r}."
            )
        table = {row["arch"]: float(row[metric]) for row in reader}

    if not table:
        raise ValueError(f"The table {path!r} has no rows.")
    _logger.debug("Read %d architectures from %s.", len(table), path)
    return table


def load_table(path: str | os.PathLike[str], metric: str = "test_accuracy") -> dict[str, float]:
    """Read a benchmark table: a CSV with an ``arch`` column and a ``metric`` column.

    Args:
        path: The CSV file.
        metric: The column to read.

    Returns:
        A mapping from architecture string to the metric.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"The benchmark table {path!r} does not exist.")
    return dict(_read_table(os.path.abspath(path), metric, os.path.getmtime(path)))


class TabularEvaluator(Evaluator):
    """Return an architecture's metric from a tabular benchmark (no training).

    Args:
        table: The CSV file, e.g. NAS-Bench-201's CIFAR-10 table.
        metric: The column to return.

    Example:
        >>> evaluator = TabularEvaluator("nb201_cifar10.csv")  # doctest: +SKIP
        >>> evaluator.lookup("|nor_conv_3x3~0|+|...|")  # doctest: +SKIP
    """

    def __init__(self, table: str | os.PathLike[str], *, metric: str = "test_accuracy") -> None:
        self.path = os.fspath(table)
        self.metric = metric
        self.table = load_table(self.path, metric)

    @property
    def optimum(self) -> float:
        """The best value in the table."""
        return max(self.table.values())

    def lookup(self, arch: Architecture | str) -> float:
        """Return the metric of ``arch``; raise ``KeyError`` when the table lacks it."""
        key = str(arch)
        try:
            return self.table[key]
        except KeyError:
            raise KeyError(
                f"Architecture {key!r} is not in the table {self.path!r} ({len(self.table)} rows)."
            ) from None

    def __call__(self, trial: optuna.trial.BaseTrial, arch: Architecture) -> float:
        value = self.lookup(arch)
        trial.set_user_attr(self.metric, value)
        return value
