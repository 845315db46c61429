"""The study runner: create or resume a study, run it, and summarise it."""

from __future__ import annotations

import contextlib
import logging
import math
import signal
import threading
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any

import optuna
from optuna.trial import TrialState

if TYPE_CHECKING:
    from optuna_nas.evaluators import Evaluator
    from optuna_nas.spaces import SearchSpace
    from optuna_nas.tracking import MLflowTracker

_logger = logging.getLogger(__name__)

_DIRECTIONS = ("maximize", "minimize")


class StudyConfigError(ValueError):
    """The study's configuration is inconsistent with itself or with the stored study."""


def check_directions(directions: Sequence[str]) -> list[str]:
    """Return ``directions`` in lower case; raise a one-line error if any is invalid."""
    if isinstance(directions, str) or not directions:
        raise StudyConfigError(
            f"`study.directions` must be a non-empty list of {list(_DIRECTIONS)}, "
            f"but got {directions!r}."
        )
    cleaned = [str(d).lower() for d in directions]
    bad = [d for d in cleaned if d not in _DIRECTIONS]
    if bad:
        raise StudyConfigError(
            f"`study.directions` must only hold {list(_DIRECTIONS)}, but got {list(directions)}."
        )
    return cleaned


def make_storage(
    storage: str | optuna.storages.BaseStorage | None, *, heartbeat_interval: int | None = 60
) -> optuna.storages.BaseStorage | None:
    """Open a storage URL; relational storages get a heartbeat so crashed trials end as FAIL.

    With a heartbeat, a trial whose process died (power loss, ``kill -9``) is marked FAIL
    by the next process that runs the study, instead of staying RUNNING for ever.
    """
    if storage is None or not isinstance(storage, str):
        return storage
    if storage.split(":", 1)[0].split("+", 1)[0] in ("sqlite", "postgresql", "mysql"):
        if heartbeat_interval:
            return optuna.storages.RDBStorage(
                storage, heartbeat_interval=heartbeat_interval, grace_period=2 * heartbeat_interval
            )
        return optuna.storages.RDBStorage(storage)
    return optuna.storages.get_storage(storage)


def create_or_resume_study(
    *,
    study_name: str,
    storage: str | optuna.storages.BaseStorage | None,
    directions: Sequence[str],
    sampler: optuna.samplers.BaseSampler | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
    heartbeat_interval: int | None = 60,
) -> optuna.Study:
    """Create a study, or load the stored one of the same name after checking its directions.

    Raises:
        StudyConfigError: The stored study optimises other directions than ``directions``.
    """
    wanted = check_directions(directions)
    opened = make_storage(storage, heartbeat_interval=heartbeat_interval)

    if opened is not None:
        try:
            stored = optuna.load_study(study_name=study_name, storage=opened)
        except KeyError:
            stored = None
        if stored is not None:
            have = [d.name.lower() for d in stored.directions]
            if have != wanted:
                raise StudyConfigError(
                    f"The stored study {study_name!r} optimises directions {have}, but "
                    f"`study.directions` is {wanted}; use another `study.name` or the stored "
                    f"directions."
                )
            _logger.info(
                "Resuming study %r with %d stored trials.", study_name, len(stored.trials)
            )

    return optuna.create_study(
        study_name=study_name,
        storage=opened,
        sampler=sampler,
        pruner=pruner,
        directions=wanted,
        load_if_exists=True,
    )


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into ``KeyboardInterrupt`` so a killed job ends its trial as FAIL."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"Received signal {signum}.")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def make_objective(
    search_space: SearchSpace,
    evaluator: Evaluator | Callable[..., Any],
    tracker: MLflowTracker | None = None,
) -> Callable[[optuna.Trial], Any]:
    """Return the objective: suggest an architecture, ask the pruner, evaluate it, track it.

    A failure keeps its reason in the trial's ``fail_reason`` user attribute. Lightning turns
    Ctrl-C and SIGTERM into ``SystemExit``, which Optuna does not catch (the trial would stay
    RUNNING); it is re-raised as ``KeyboardInterrupt`` so Optuna records FAIL and stops.
    """

    def objective(trial: optuna.Trial) -> Any:
        arch = search_space.suggest(trial)
        trial.set_user_attr("arch", str(arch))

        tracking = (
            tracker.trial_run(trial, arch, search_space)
            if tracker is not None
            else contextlib.nullcontext({})
        )
        try:
            with tracking as outcome:
                # Pruners that judge an architecture before it trains (ZeroCostPruner) act
                # here; step-based pruners have nothing reported yet and say no.
                if trial.should_prune():
                    raise optuna.TrialPruned(f"Pruned before training: {arch}.")
                try:
                    values = evaluator(trial, arch)
                except SystemExit as exc:
                    raise KeyboardInterrupt(f"Trial {trial.number} was interrupted.") from exc
                outcome["values"] = values
        except optuna.TrialPruned:
            raise
        except BaseException as exc:
            trial.set_user_attr("fail_reason", f"{type(exc).__name__}: {exc}"[:2000])
            raise
        return values

    return objective


def run_study(
    study: optuna.Study,
    *,
    search_space: SearchSpace,
    evaluator: Evaluator | Callable[..., Any],
    n_trials: int | None = None,
    timeout: float | None = None,
    tracker: MLflowTracker | None = None,
    show_progress_bar: bool = False,
) -> optuna.Study:
    """Run ``study``: every exception inside a trial ends it as FAIL and the study goes on.

    ``n_trials`` counts the trials of this run (a resumed study adds them to the stored
    ones). Ctrl-C or SIGTERM ends the running trial as FAIL, closes the MLflow runs as
    KILLED and re-raises ``KeyboardInterrupt``.
    """
    if n_trials is not None and n_trials < 1:
        raise StudyConfigError(f"`study.n_trials` must be positive or null, but got {n_trials}.")
    if timeout is not None and timeout <= 0:
        raise StudyConfigError(f"`study.timeout` must be positive or null, but got {timeout}.")

    objective = make_objective(search_space, evaluator, tracker)
    if tracker is not None:
        tracker.start_study(study)

    status = "FINISHED"
    try:
        with sigterm_as_interrupt():
            study.optimize(
                objective,
                n_trials=n_trials,
                timeout=timeout,
                catch=(Exception,),
                show_progress_bar=show_progress_bar,
            )
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        if tracker is not None:
            tracker.end_study(study, status=status)
    return study


def summarize(study: optuna.Study) -> dict[str, Any]:
    """Return the content of ``summary.json``: the best architecture and every trial."""
    trials = study.get_trials(deepcopy=False)
    entries = []
    for trial in trials:
        entry: dict[str, Any] = {
            "number": trial.number,
            "state": trial.state.name,
            "arch": trial.user_attrs.get("arch"),
            "values": _clean(trial.values),
        }
        for key in ("fail_reason", "n_params", "seconds"):
            if key in trial.user_attrs:
                entry[key] = trial.user_attrs[key]
        entries.append(entry)

    summary: dict[str, Any] = {
        "study_name": study.study_name,
        "directions": [d.name.lower() for d in study.directions],
        "n_trials": len(trials),
        "n_complete": sum(t.state == TrialState.COMPLETE for t in trials),
    }
    best = study.best_trials if summary["n_complete"] else []
    summary["best_trials"] = [
        {"number": t.number, "arch": t.user_attrs.get("arch"), "values": _clean(t.values)}
        for t in best
    ]
    if len(study.directions) == 1 and best:
        summary["best_arch"] = best[0].user_attrs.get("arch")
        summary["best_value"] = best[0].value
    summary["trials"] = entries
    return summary


def format_leaderboard(study: optuna.Study, top: int = 10) -> str:
    """Return a text table of the best completed trials (by the first objective)."""
    completed = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    if not completed:
        return "No trial completed."

    sign = -1.0 if study.directions[0] == optuna.study.StudyDirection.MAXIMIZE else 1.0
    completed.sort(key=lambda t: (sign * t.values[0], t.number))
    header = f"{'rank':>4}  {'trial':>5}  {'value(s)':>18}  {'params':>9}  {'time(s)':>7}  arch"
    lines = [header, "-" * len(header)]
    for rank, trial in enumerate(completed[:top], start=1):
        values = ", ".join(f"{v:.4g}" for v in trial.values)
        params = trial.user_attrs.get("n_params")
        seconds = trial.user_attrs.get("seconds")
        lines.append(
            f"{rank:>4}  {trial.number:>5}  {values:>18}  "
            f"{params if params is not None else '-':>9}  "
            f"{f'{seconds:.1f}' if seconds is not None else '-':>7}  "
            f"{trial.user_attrs.get('arch')}"
        )
    return "\n".join(lines)


def _clean(values: Sequence[float] | None) -> list[float | None] | None:
    if values is None:
        return None
    return [v if v is not None and math.isfinite(v) else None for v in values]
