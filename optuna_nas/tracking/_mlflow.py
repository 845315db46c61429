"""Track a study in MLflow: one parent run per study and one nested run per trial."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterator
from collections.abc import Mapping
from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:
    import optuna
    from mlflow import MlflowClient

    from optuna_nas.spaces import Architecture
    from optuna_nas.spaces import SearchSpace

_logger = logging.getLogger(__name__)

#: The study user attribute that remembers the parent run, so a resumed study reuses it.
PARENT_RUN_ATTR = "mlflow_parent_run_id"

_MAX_PARAM_LENGTH = 6000


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten a nested mapping into ``{"a.b.c": "value"}`` strings for MLflow parameters."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = str(value)[:_MAX_PARAM_LENGTH]
    return flat


class MLflowTracker:
    """Record a study in MLflow through MLflow's own client.

    The study gets one parent run (kept across resumes through a study user attribute), and
    every trial a nested run holding its decisions, architecture string and seed as
    parameters; its per-epoch validation accuracy and loss, final value(s), parameter count
    and wall time as metrics; and its final state as the ``optuna.state`` tag. A pruned
    trial's run ends ``KILLED`` with ``optuna.state=PRUNED``; a failed one ends ``FAILED``
    with the reason in the ``optuna.fail_reason`` tag.

    Args:
        tracking_uri: Where MLflow stores runs, e.g. ``sqlite:///mlflow.db``.
        experiment: The experiment name.
        config: The composed configuration, logged as parameters of the parent run.
        seed: The study's seed, logged on every run.
    """

    def __init__(
        self,
        *,
        tracking_uri: str,
        experiment: str = "optuna-nas",
        config: Mapping[str, Any] | None = None,
        seed: int | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.config = dict(config or {})
        self.seed = seed
        self.parent_run_id: str | None = None
        self._client: MlflowClient | None = None
        self._experiment_id: str | None = None

    @property
    def client(self) -> MlflowClient:
        """The MLflow client (created on first use, so importing is cheap)."""
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(tracking_uri=self.tracking_uri)
            found = self._client.get_experiment_by_name(self.experiment)
            self._experiment_id = (
                found.experiment_id
                if found is not None
                else self._client.create_experiment(self.experiment)
            )
        return self._client

    def start_study(self, study: optuna.Study) -> str:
        """Open (or reopen, for a resumed study) the parent run of ``study``."""
        client = self.client
        existing = study.user_attrs.get(PARENT_RUN_ATTR)
        if existing is not None:
            with contextlib.suppress(Exception):
                if client.get_run(existing).info.experiment_id == self._experiment_id:
                    client.update_run(existing, status="RUNNING")
                    self.parent_run_id = existing
                    return existing

        from mlflow.entities import Param
        from mlflow.entities import RunTag

        run = client.create_run(
            self._experiment_id,  # type: ignore[arg-type]
            run_name=study.study_name,
            tags={"optuna.study": study.study_name},
        )
        self.parent_run_id = run.info.run_id
        params = flatten(self.config)
        params["directions"] = ",".join(d.name.lower() for d in study.directions)
        if self.seed is not None:
            params["seed"] = str(self.seed)
        client.log_batch(
            self.parent_run_id,
            params=[Param(k, v) for k, v in sorted(params.items())],
            tags=[RunTag("optuna.directions", params["directions"])],
        )
        study.set_user_attr(PARENT_RUN_ATTR, self.parent_run_id)
        return self.parent_run_id

    def end_study(self, study: optuna.Study, status: str = "FINISHED") -> None:
        """Close the parent run with the study's best value(s) logged."""
        if self.parent_run_id is None:
            return

        from mlflow.entities import Metric

        metrics = []
        now = _now_ms()
        completed = [t for t in study.get_trials(deepcopy=False) if t.values is not None]
        if completed and len(study.directions) == 1:
            metrics.append(Metric("best_value", float(study.best_value), now, 0))
        metrics.append(Metric("n_trials", float(len(study.trials)), now, 0))
        self.client.log_batch(self.parent_run_id, metrics=metrics)
        self.client.set_terminated(self.parent_run_id, status=status)

    @contextlib.contextmanager
    def trial_run(
        self, trial: optuna.Trial, arch: Architecture, space: SearchSpace
    ) -> Iterator[dict[str, Any]]:
        """Wrap one trial in a nested run; the caller puts the value(s) in the yielded dict.

        Exceptions pass through after the run is closed with the matching status.
        """
        import optuna
        from mlflow.entities import Param
        from mlflow.entities import RunTag

        if self.parent_run_id is None:
            raise RuntimeError("`start_study` must be called before `trial_run`.")

        client = self.client
        run = client.create_run(
            self._experiment_id,  # type: ignore[arg-type]
            run_name=f"trial-{trial.number}",
            tags={
                "mlflow.parentRunId": self.parent_run_id,
                "optuna.study": trial.study.study_name,
                "optuna.trial_number": str(trial.number),
            },
        )
        run_id = run.info.run_id
        params = {**space.to_params(arch), "arch": str(arch)}
        if self.seed is not None:
            params["seed"] = str(self.seed)
        client.log_batch(run_id, params=[Param(k, v) for k, v in params.items()])

        outcome: dict[str, Any] = {}
        started = time.perf_counter()
        state, status, reason = "COMPLETE", "FINISHED", ""
        try:
            yield outcome
        except optuna.TrialPruned as exc:
            state, status, reason = "PRUNED", "KILLED", str(exc)
            raise
        except (KeyboardInterrupt, SystemExit) as exc:
            state, status, reason = "FAIL", "KILLED", f"Interrupted: {exc}"
            raise
        except BaseException as exc:
            state, status, reason = "FAIL", "FAILED", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            values = outcome.get("values")
            if state == "COMPLETE" and not _all_finite(values):
                state, status, reason = "FAIL", "FAILED", f"The objective returned {values}."
            metrics = self._trial_metrics(trial, values, time.perf_counter() - started)
            tags = [RunTag("optuna.state", state)]
            if reason:
                tags.append(RunTag(f"optuna.{state.lower()}_reason", reason[:5000]))
            try:
                client.log_batch(run_id, metrics=metrics, tags=tags)
            finally:
                client.set_terminated(run_id, status=status)

    @staticmethod
    def _trial_metrics(trial: optuna.Trial, values: Any, seconds: float) -> list[Any]:
        from mlflow.entities import Metric

        now = _now_ms()
        metrics = [Metric("wall_time_s", seconds, now, 0)]
        attrs = trial.user_attrs
        history = attrs.get("history") or {}
        for name, series in history.items():
            metrics.extend(
                Metric(name, float(v), now, step)
                for step, v in enumerate(series)
                if math.isfinite(float(v))
            )
        if "n_params" in attrs:
            metrics.append(Metric("n_params", float(attrs["n_params"]), now, 0))
        if values is not None:
            listed = values if isinstance(values, (list, tuple)) else [values]
            for index, value in enumerate(listed):
                if value is not None and math.isfinite(float(value)):
                    name = "value" if len(listed) == 1 else f"value_{index}"
                    metrics.append(Metric(name, float(value), now, 0))
        return metrics


def _all_finite(values: Any) -> bool:
    if values is None:
        return False
    listed = values if isinstance(values, (list, tuple)) else [values]
    try:
        return all(math.isfinite(float(v)) for v in listed)
    except (TypeError, ValueError):
        return False


def _now_ms() -> int:
    return int(time.time() * 1000)
