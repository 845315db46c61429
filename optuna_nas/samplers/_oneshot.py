"""Shared machinery of the one-shot samplers: a supernet trained between trials, on files."""

from __future__ import annotations

import abc
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

import filelock
import torch

from optuna_nas.nn import CHECKPOINT_ATTR
from optuna_nas.nn import NB201Supernet
from optuna_nas.nn import SupernetModule
from optuna_nas.nn import fit_supernet
from optuna_nas.samplers._base import ArchitectureSampler
from optuna_nas.spaces import NASBench201Space

if TYPE_CHECKING:
    from optuna.study import Study

    from optuna_nas.data import ArrayDataModule
    from optuna_nas.spaces import SearchSpace

_logger = logging.getLogger(__name__)


class OneShotSampler(ArchitectureSampler, abc.ABC):
    """Base of the samplers that train a weight-sharing supernet between trials.

    Before each proposal the sampler trains the supernet for ``steps_per_trial`` more steps
    (plus ``warmup_steps`` before the first) with :func:`optuna_nas.nn.fit_supernet`. The
    supernet's Lightning checkpoint is the search's state: its path is stored in the study's
    ``supernet_checkpoint`` user attribute, so a study resumed in another process continues
    from it, and :class:`optuna_nas.evaluators.SupernetEvaluator` scores trials with it.
    Workers sharing one storage (and one file system) take turns on the supernet through a
    file lock (:meth:`search_lock`); their fits run one after another, so more workers add
    evaluation throughput, not training speed (use DDP through ``trainer_kwargs`` for that).

    Args:
        search_space: A :class:`optuna_nas.spaces.NASBench201Space` (its ``channels`` and
            ``cells_per_stage`` size the supernet).
        datamodule: The data the supernet trains on.
        directory: Where to write the search's files (a folder per study); a new temporary
            folder when ``None``.
        steps_per_trial: Training steps before each proposal.
        warmup_steps: Extra steps before the first proposal.
        batch_size: Minibatch size; the data module's by default.
        trainer_kwargs: Further ``pytorch_lightning.Trainer`` arguments (e.g. DDP:
            ``{"devices": 2, "strategy": "ddp_spawn_find_unused_parameters_true"}``).
        seed: Seed of the weights, the data order and every random choice.
        module_kwargs: Further :class:`optuna_nas.nn.SupernetModule` arguments.
    """

    #: The :class:`SupernetModule` method the sampler trains with.
    method: str = "single_path"

    def __init__(
        self,
        *,
        search_space: SearchSpace,
        datamodule: ArrayDataModule,
        directory: str | os.PathLike[str] | None = None,
        steps_per_trial: int = 50,
        warmup_steps: int = 0,
        batch_size: int | None = None,
        trainer_kwargs: dict[str, Any] | None = None,
        seed: int | None = None,
        module_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(search_space, NASBench201Space):
            raise TypeError(
                f"`search_space` must be a NASBench201Space (the supernet's space), but got "
                f"{search_space!r}."
            )
        if steps_per_trial < 1:
            raise ValueError(
                f"`steps_per_trial` must be a positive integer, but got {steps_per_trial}."
            )
        if warmup_steps < 0:
            raise ValueError(f"`warmup_steps` must be zero or more, but got {warmup_steps}.")

        super().__init__(search_space=search_space, seed=seed)
        self.datamodule = datamodule
        self.directory = None if directory is None else Path(directory)
        self.steps_per_trial = steps_per_trial
        self.warmup_steps = warmup_steps
        self.batch_size = batch_size
        self.trainer_kwargs = dict(trainer_kwargs or {})
        self.module_kwargs = dict(module_kwargs or {})
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        self._fit_lock = threading.RLock()
        self._file_locks: dict[Path, filelock.FileLock] = {}

    def checkpoint_path(self, study: Study) -> Path:
        """Return the study's supernet checkpoint, recording a new one in the study if needed.

        A path already recorded by the study wins, so every process of a study, and a resumed
        study, share one supernet.
        """
        recorded = study.user_attrs.get(CHECKPOINT_ATTR)
        if recorded is not None:
            return Path(recorded)

        if self.directory is None:
            if self._temporary is None:
                self._temporary = tempfile.TemporaryDirectory(prefix="optuna-nas-")
            root = Path(self._temporary.name)
        else:
            root = self.directory
        path = (root / _safe(study.study_name) / "supernet.ckpt").resolve()
        path.parent.mkdir(parents=True, exist_ok=True)

        study.set_user_attr(CHECKPOINT_ATTR, str(path))
        return path

    def build_module(self) -> SupernetModule:
        """Return a freshly initialised (seeded) supernet module of the space and the data."""
        self.datamodule.setup()
        space = self.search_space
        if not isinstance(space, NASBench201Space):
            raise TypeError(
                f"One-shot samplers need a NASBench201Space, but got {type(space).__name__}."
            )

        with torch.random.fork_rng():
            torch.manual_seed(self.seed)
            supernet = NB201Supernet(
                channels=space.channels,
                cells_per_stage=space.cells_per_stage,
                in_channels=self.datamodule.in_channels,
                num_classes=self.datamodule.num_classes,
            )
        return SupernetModule(supernet, method=self.method, seed=self.seed, **self.module_kwargs)

    def steps_for(self, study: Study) -> int:
        """The steps of the study's next fit: ``warmup_steps`` more before the first."""
        first = not self.checkpoint_path(study).is_file()
        return self.steps_per_trial + (self.warmup_steps if first else 0)

    def search_lock(self, study: Study) -> filelock.FileLock:
        """Return the lock of the study's search files (``search.lock`` beside the checkpoint).

        Every process and thread of a study holds it while it reads, trains and rewrites the
        supernet (and the ENAS controller), so workers sharing one storage take turns instead
        of overwriting each other's steps. The lock is re-entrant within a thread.
        """
        path = self.checkpoint_path(study).with_name("search.lock")
        with self._lock:
            lock = self._file_locks.get(path)
            if lock is None:
                lock = self._file_locks[path] = filelock.FileLock(path)
        return lock

    def train_supernet(self, study: Study, *, paths: torch.Tensor | None = None) -> dict[str, Any]:
        """Train the study's supernet for :meth:`steps_for` steps; returns the new checkpoint.

        Holds :meth:`search_lock` from reading the checkpoint to writing it back.

        Args:
            study: The study.
            paths: The single paths of the coming steps, one row of op indices per step.
        """
        module = self.build_module()
        module.paths = paths

        with self._fit_lock, self.search_lock(study), torch.random.fork_rng():
            return fit_supernet(
                module,
                datamodule=self.datamodule,
                steps=self.steps_for(study),
                checkpoint=self.checkpoint_path(study),
                batch_size=self.batch_size,
                trainer_kwargs=self.trainer_kwargs,
            )


def _safe(name: str) -> str:
    """Return ``name`` with every character outside ``[A-Za-z0-9._-]`` replaced by ``_``."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "study"


def atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` through a temporary file, so readers never see a partial file."""
    partial = path.with_name(path.name + ".partial")
    torch.save(obj, partial)
    os.replace(partial, path)
