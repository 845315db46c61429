"""The ``optuna-nas`` main job: a Hydra app that runs one architecture search."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from omegaconf import MISSING
from omegaconf import DictConfig
from omegaconf import OmegaConf

from optuna_nas._hydra import CONFIG_DIR
from optuna_nas._study import StudyConfigError

_logger = logging.getLogger(__name__)

#: Loggers made quiet unless ``verbose=true``: per-child training chatter.
_CHATTY_LOGGERS = (
    "pytorch_lightning",
    "lightning",
    "lightning.pytorch",
    "lightning_fabric",
    "mlflow",
    "alembic",
)


@dataclasses.dataclass
class StudySchema:
    name: str = "optuna-nas"
    storage: str | None = "sqlite:///optuna_nas.db"
    n_trials: int | None = 10
    timeout: float | None = None
    directions: list[str] = dataclasses.field(default_factory=lambda: ["maximize"])
    leaderboard: int = 10
    heartbeat_interval: int | None = 60


@dataclasses.dataclass
class TrackingSchema:
    enabled: bool = True
    tracking_uri: str = "sqlite:///mlflow.db"
    experiment: str = "optuna-nas"


@dataclasses.dataclass
class MainSchema:
    """The typed top level of ``conf/config.yaml``; Hydra rejects values of the wrong type."""

    search_space: Any = MISSING
    strategy: Any = MISSING
    evaluator: Any = MISSING
    dataset: Any = MISSING
    pruner: Any = None
    seed: int = 0
    verbose: bool = False
    study: StudySchema = dataclasses.field(default_factory=StudySchema)
    tracking: TrackingSchema = dataclasses.field(default_factory=TrackingSchema)


ConfigStore.instance().store(name="optuna_nas_schema", node=MainSchema)


class ConfigError(ValueError):
    """A configuration value is wrong; the message is one line naming the key."""


def _quiet(verbose: bool) -> None:
    # The job (not the library) decides how loud the run is. Lightning sets its loggers'
    # levels when it is imported, so this runs after the evaluator and sampler are built.
    import optuna

    level = logging.INFO if verbose else logging.WARNING
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(level)
    optuna.logging.set_verbosity(optuna.logging.INFO if verbose else optuna.logging.WARNING)
    if not verbose:
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", module=r"pytorch_lightning\..*")
        warnings.filterwarnings("ignore", module=r"lightning_fabric\..*")
        warnings.filterwarnings("ignore", message=r".*does not have many workers.*")


def _fast_sqlite() -> None:
    """Put the job's SQLite files (Optuna's storage, MLflow's store) in write-ahead-log mode.

    Every suggested parameter and every MLflow call is one transaction; in SQLite's default
    mode each commit waits for the disk, which made a 100-trial tabular study spend most of its
    time in fsync. WAL with ``synchronous=NORMAL`` stays crash-safe for committed trials (a
    power cut may lose the last few commits, not corrupt the file) and lets several worker
    processes read while one writes. Only SQLite connections opened by this process change.
    """
    import sqlite3

    import sqlalchemy

    def configure(connection: Any, _: Any) -> None:
        if isinstance(connection, sqlite3.Connection):
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    if not sqlalchemy.event.contains(sqlalchemy.engine.Engine, "connect", configure):
        sqlalchemy.event.listen(sqlalchemy.engine.Engine, "connect", configure)


def _instantiate(cfg: DictConfig, key: str, **kwargs: Any) -> Any:
    node = OmegaConf.select(cfg, key)
    if node is None:
        return None
    try:
        return hydra.utils.instantiate(node, **kwargs)
    except InstantiationException as exc:
        cause = exc.__cause__ or exc
        reason = str(cause).strip().splitlines()[0] if str(cause).strip() else repr(cause)
        raise ConfigError(f"`{key}`: {reason}") from exc
    except Exception as exc:  # interpolation errors and the like
        reason = str(exc).strip().splitlines()[0]
        raise ConfigError(f"`{key}`: {reason}") from exc


def build(cfg: DictConfig) -> dict[str, Any]:
    """Instantiate the space, sampler, pruner and evaluator before anything is written."""
    from optuna_nas._study import check_directions

    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        raise ConfigError(
            f"`{missing[0]}` must be set (e.g. `{missing[0]}=...` on the command line)."
        )

    try:
        directions = check_directions(list(cfg.study.directions))
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc

    search_space = _instantiate(cfg, "search_space")
    evaluator = _instantiate(cfg, "evaluator")
    sampler = _instantiate(cfg, "strategy.sampler")
    pruner = _instantiate(cfg, "pruner")

    expected = getattr(evaluator, "directions", None)
    if expected is not None and len(expected) != len(directions):
        raise ConfigError(
            f"`study.directions` must have one entry per evaluator objective ({list(expected)}), "
            f"but got {directions}."
        )
    return {
        "search_space": search_space,
        "evaluator": evaluator,
        "sampler": sampler,
        "pruner": pruner,
        "directions": directions,
    }


def run_job(cfg: DictConfig, output_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Run the main job on a composed config and write ``summary.json`` to ``output_dir``."""
    from optuna_nas._study import create_or_resume_study
    from optuna_nas._study import format_leaderboard
    from optuna_nas._study import run_study
    from optuna_nas._study import summarize
    from optuna_nas.tracking import MLflowTracker

    parts = build(cfg)
    if cfg.tracking.enabled:
        import mlflow  # noqa: F401  (MLflow, too, sets its log level when imported)
    _quiet(bool(cfg.verbose))
    _fast_sqlite()

    study = create_or_resume_study(
        study_name=cfg.study.name,
        storage=cfg.study.storage,
        directions=parts["directions"],
        sampler=parts["sampler"],
        pruner=parts["pruner"],
        heartbeat_interval=cfg.study.heartbeat_interval,
    )
    tracker = None
    if cfg.tracking.enabled:
        tracker = MLflowTracker(
            tracking_uri=cfg.tracking.tracking_uri,
            experiment=cfg.tracking.experiment,
            config=OmegaConf.to_container(cfg, resolve=True),  # type: ignore[arg-type]
            seed=cfg.seed,
        )

    interrupted = False
    try:
        run_study(
            study,
            search_space=parts["search_space"],
            evaluator=parts["evaluator"],
            n_trials=cfg.study.n_trials,
            timeout=cfg.study.timeout,
            tracker=tracker,
            show_progress_bar=True,
        )
    except KeyboardInterrupt:
        interrupted = True

    summary = summarize(study)
    path = Path(output_dir) / "summary.json"
    path.write_text(json.dumps(summary, indent=2), encoding="utf-8")

    print(
        f"\nStudy {study.study_name!r}: {summary['n_complete']} of {summary['n_trials']} "
        f"trials complete."
    )
    print(format_leaderboard(study, cfg.study.leaderboard))
    shown = set()
    for best in summary["best_trials"]:
        if best["arch"] not in shown and len(shown) < 5:
            shown.add(best["arch"])
            print(f"Best architecture: {best['arch']}  value(s): {best['values']}")
    print(f"Summary: {path}")
    if interrupted:
        raise KeyboardInterrupt("The study was interrupted; its trials are kept in the storage.")
    return summary


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def _hydra_main(cfg: DictConfig) -> None:
    try:
        run_job(cfg, HydraConfig.get().runtime.output_dir)
    except (ConfigError, StudyConfigError) as exc:
        print(f"optuna-nas: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt as exc:
        print(f"optuna-nas: interrupted: {exc}", file=sys.stderr)
        sys.exit(130)


def main() -> None:
    """Entry point of the ``optuna-nas`` console script."""
    _hydra_main()
