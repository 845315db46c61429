"""Score architectures with the shared weights of a one-shot search's supernet."""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING
from typing import Any

import torch
from torchmetrics.classification import MulticlassAccuracy

from optuna_nas.evaluators._base import Evaluator
from optuna_nas.nn import CHECKPOINT_ATTR
from optuna_nas.nn import NB201Supernet
from optuna_nas.nn import load_supernet

if TYPE_CHECKING:
    import optuna

    from optuna_nas.data import ArrayDataModule
    from optuna_nas.spaces import Architecture

_logger = logging.getLogger(__name__)


class SupernetEvaluator(Evaluator):
    """Return an architecture's validation accuracy (percent) under a supernet's weights.

    The architecture runs as a single path of the :class:`optuna_nas.nn.NB201Supernet` with
    the inherited weights. Before scoring, the batch-norm statistics of the path are
    re-estimated on a few training batches, since the shared statistics mix every path's
    activations (Guo et al., "Single Path One-Shot Neural Architecture Search with Uniform
    Sampling", ECCV 2020; Pham et al., ENAS, ICML 2018, score children the same way).

    The supernet is read from the Lightning checkpoint whose path the study holds in its
    ``supernet_checkpoint`` user attribute (written by :class:`optuna_nas.samplers.ENASSampler`
    and :class:`optuna_nas.samplers.DARTSSampler`), or from ``checkpoint``; it is cached by
    path and modification time, so a checkpoint rewritten between trials is read again.

    Args:
        datamodule: The data: calibration batches come from the ``train`` split, the score
            from ``split``.
        checkpoint: A fixed checkpoint to read instead of the study's.
        split: The split to score on.
        calibration_batches: Training batches for the batch-norm statistics (0 keeps the
            supernet's own).
        batch_size: Minibatch size of calibration and scoring; the data module's by default.
        max_batches: Score on at most this many batches of ``split`` (all by default).
        seed: Seed of the calibration batches.
        user_attr: The study user attribute holding the checkpoint path.

    Example:
        >>> import optuna
        >>> from optuna_nas.data import DigitsDataModule
        >>> from optuna_nas.samplers import ENASSampler
        >>> from optuna_nas.spaces import NASBench201Space
        >>> space = NASBench201Space(channels=4, cells_per_stage=1)
        >>> sampler = ENASSampler(search_space=space, datamodule=DigitsDataModule(), seed=0)
        >>> evaluator = SupernetEvaluator.from_sampler(sampler)
        >>> study = optuna.create_study(direction="maximize", sampler=sampler)
        >>> study.optimize(lambda trial: evaluator(trial, space.suggest(trial)), n_trials=2)
    """

    def __init__(
        self,
        *,
        datamodule: ArrayDataModule,
        checkpoint: str | os.PathLike[str] | None = None,
        split: str = "val",
        calibration_batches: int = 4,
        batch_size: int | None = None,
        max_batches: int | None = None,
        seed: int = 0,
        user_attr: str = CHECKPOINT_ATTR,
    ) -> None:
        if calibration_batches < 0:
            raise ValueError(
                f"`calibration_batches` must be zero or more, but got {calibration_batches}."
            )
        if max_batches is not None and max_batches < 1:
            raise ValueError(f"`max_batches` must be positive or None, but got {max_batches}.")

        self.datamodule = datamodule
        self.checkpoint = None if checkpoint is None else os.fspath(checkpoint)
        self.split = split
        self.calibration_batches = calibration_batches
        self.batch_size = batch_size
        self.max_batches = max_batches
        self.seed = seed
        self.user_attr = user_attr
        self._cache: tuple[tuple[str, int], NB201Supernet] | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_sampler(cls, sampler: Any, **kwargs: Any) -> SupernetEvaluator:
        """Build an evaluator for an in-process one-shot sampler, sharing its data module.

        Args:
            sampler: An :class:`~optuna_nas.samplers.ENASSampler` or
                :class:`~optuna_nas.samplers.DARTSSampler`.
            kwargs: Further arguments of the evaluator.
        """
        kwargs.setdefault("datamodule", sampler.datamodule)
        kwargs.setdefault("seed", sampler.seed)
        return cls(**kwargs)

    def __call__(self, trial: optuna.trial.BaseTrial, arch: Architecture) -> float:
        started = time.perf_counter()

        supernet = self.supernet(self._checkpoint_of(trial))

        accuracy = self.score(supernet, arch)

        trial.set_user_attr("supernet_accuracy", accuracy)
        trial.set_user_attr("seconds", time.perf_counter() - started)
        return accuracy

    def supernet(self, path: str) -> NB201Supernet:
        """Return the supernet saved at ``path``, read again only when the file changed."""
        if not os.path.isfile(path):
            raise FileNotFoundError(f"The supernet checkpoint {path!r} does not exist.")

        key = (os.path.abspath(path), os.stat(path).st_mtime_ns)
        with self._lock:
            if self._cache is None or self._cache[0] != key:
                self._cache = (key, load_supernet(path))
                _logger.debug("Loaded the supernet of %s.", path)
            return self._cache[1]

    def score(self, supernet: NB201Supernet, arch: Architecture | Any) -> float:
        """Recalibrate ``arch``'s batch norms and return its accuracy (percent) on the split.

        Changes the supernet's batch-norm statistics; pass a copy to keep them.
        """
        datamodule = self.datamodule
        datamodule.setup()
        size = self.batch_size or datamodule.batch_size

        if self.calibration_batches:
            batches = (
                datamodule.batch(size, split="train", seed=self.seed + i)[0]
                for i in range(self.calibration_batches)
            )
            supernet.recalibrate(arch, batches)
        supernet.eval()

        images, labels = datamodule.dataset(self.split).tensors
        metric = MulticlassAccuracy(num_classes=supernet.config["num_classes"], average="micro")
        with torch.no_grad():
            for count, start in enumerate(range(0, len(images), size)):
                if self.max_batches is not None and count >= self.max_batches:
                    break
                logits = supernet(images[start : start + size], arch=arch)
                metric.update(logits, labels[start : start + size])
        return float(metric.compute()) * 100.0

    def _checkpoint_of(self, trial: optuna.trial.BaseTrial) -> str:
        if self.checkpoint is not None:
            return self.checkpoint

        study = getattr(trial, "study", None)
        path = None if study is None else study.user_attrs.get(self.user_attr)
        if path is None:
            raise RuntimeError(
                f"The study has no `{self.user_attr}` user attribute naming a supernet "
                f"checkpoint; use strategy=enas or strategy=darts, or pass `checkpoint`."
            )
        return str(path)
