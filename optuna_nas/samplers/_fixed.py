"""A sampler that proposes one given architecture, to retrain a search's result."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from optuna_nas.samplers._base import ArchitectureSampler
from optuna_nas.samplers._base import History
from optuna_nas.spaces import Architecture
from optuna_nas.spaces import SearchSpace

if TYPE_CHECKING:
    import random

    from optuna.study import Study
    from optuna.trial import FrozenTrial

_logger = logging.getLogger(__name__)


class FixedArchitectureSampler(ArchitectureSampler):
    """Propose the same architecture in every trial.

    This is the second half of a one-shot search (ENAS, DARTS): the search derives a cell
    under shared weights, and a study with this sampler and the ``train`` evaluator trains it
    from scratch, one trial per training seed (the evaluator seeds trial ``n`` with
    ``seed + n``). Unlike the other samplers it repeats its architecture on purpose.

    Args:
        search_space: The space the architecture belongs to.
        architecture: The architecture, its string in the space's notation, or the path of a
            ``summary.json`` written by the main job (its best architecture is taken).
        seed: Seed of the parameters outside the space.

    Example:
        >>> from optuna_nas.spaces import NASBench201Space
        >>> space = NASBench201Space()
        >>> sampler = FixedArchitectureSampler(
        ...     search_space=space, architecture="outputs/2026-12-04/10-00-00/summary.json"
        ... )  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        search_space: SearchSpace,
        architecture: Architecture | str | os.PathLike[str],
        seed: int | None = None,
    ) -> None:
        super().__init__(search_space=search_space, seed=seed)

        self._arch = _resolve(search_space, architecture)
        _logger.info("Every trial proposes %s.", self._arch.string)

    @property
    def architecture(self) -> Architecture:
        """The architecture every trial proposes."""
        return self._arch

    def _propose(
        self, study: Study, trial: FrozenTrial, history: History, rng: random.Random
    ) -> Architecture:
        return self._arch


def _resolve(
    space: SearchSpace, architecture: Architecture | str | os.PathLike[str]
) -> Architecture:
    if isinstance(architecture, Architecture):
        return space.parse(architecture.string)

    text = os.fspath(architecture)
    if text.endswith(".json"):
        return space.parse(_best_of_summary(Path(text)))
    return space.parse(text)


def _best_of_summary(path: Path) -> str:
    if not path.is_file():
        raise FileNotFoundError(
            f"`architecture` {str(path)!r} must be a summary.json written by optuna-nas, "
            "but no such file exists."
        )

    summary = json.loads(path.read_text(encoding="utf-8"))
    arch = summary.get("best_arch")
    if arch is None and summary.get("best_trials"):
        arch = summary["best_trials"][0].get("arch")
    if not isinstance(arch, str):
        raise ValueError(
            f"`architecture` {str(path)!r} must hold a best architecture (`best_arch`), "
            "but its study completed no trial."
        )
    return arch
