"""Checks shared by the sampler tests: a small synthetic space, objectives and workers."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import optuna

from optuna_nas.spaces import Architecture
from optuna_nas.spaces import Decision
from optuna_nas.spaces import NASBench201Space
from optuna_nas.spaces import SearchSpace


class ToySpace(SearchSpace):
    """Three decisions of three choices; swapping the first two gives an isomorphic one.

    27 architectures in 18 isomorphism classes.
    """

    name = "toy"

    @property
    def decisions(self) -> tuple[Decision, ...]:
        return tuple(Decision(n, ("x", "y", "z")) for n in ("a", "b", "c"))

    def to_string(self, choices: Sequence[str]) -> str:
        return "-".join(choices)

    def parse(self, string: str) -> Architecture:
        return self.make(string.split("-"))

    def isomorphism_key(self, arch: Architecture) -> str:
        return "".join(sorted(arch.choices[:2])) + "/" + arch.choices[2]

    def build(self, arch: Architecture, **kwargs: Any) -> Any:
        raise NotImplementedError("The toy space of the tests builds no networks.")


def nb201_score(space: NASBench201Space, arch: Architecture) -> float:
    """A synthetic, structured NAS-Bench-201 objective: a fixed linear model on paths."""
    weights = random.Random(7).random
    table = [weights() for _ in range(84)]
    return sum(w * x for w, x in zip(table, space.encode(arch, "path"), strict=True))


def nb201_objective(space: NASBench201Space) -> Any:
    def objective(trial: optuna.trial.Trial) -> float:
        return nb201_score(space, space.suggest(trial))

    return objective


def journal(path: str) -> optuna.storages.JournalStorage:
    """A file storage several processes can share."""
    return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))


def proposals(study: optuna.Study, space: SearchSpace) -> list[str]:
    return [str(space.from_params(t.params)) for t in study.get_trials(deepcopy=False)]


def check_reproducible(factory: Any, space: NASBench201Space, n_trials: int) -> None:
    """Two studies with the same seed make the same proposals; another seed differs."""
    runs = []
    for seed in (3, 3, 4):
        study = optuna.create_study(direction="maximize", sampler=factory(seed))
        study.optimize(nb201_objective(space), n_trials=n_trials)
        runs.append(proposals(study, space))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def check_no_repeats(factory: Any, space: SearchSpace, objective: Any, n_classes: int) -> None:
    """Every isomorphism class is proposed once before any is proposed again."""
    study = optuna.create_study(direction="maximize", sampler=factory(0))
    study.optimize(objective, n_trials=n_classes + 2)
    keys = [space.isomorphism_key(space.from_params(t.params)) for t in study.trials]
    assert len(set(keys[:n_classes])) == n_classes
    assert len(keys) == n_classes + 2


def check_resume(
    tmp_path: Any,
    name: str,
    kwargs: dict[str, Any],
    factory: Any,
    space: NASBench201Space,
    n_first: int,
    n_second: int,
    new_process: bool = True,
) -> None:
    """A study continued by a new sampler makes the proposals of one run straight through.

    With ``new_process`` the continuation runs in a forked process (see :func:`fork_worker`);
    otherwise a fresh sampler object (which has none of the first one's caches) continues in
    this process.
    """
    straight = optuna.create_study(direction="maximize", sampler=factory(5))
    straight.optimize(nb201_objective(space), n_trials=n_first + n_second)

    path = str(tmp_path / "resume.log")
    resumed = optuna.create_study(
        direction="maximize", sampler=factory(5), storage=journal(path), study_name="s"
    )
    resumed.optimize(nb201_objective(space), n_trials=n_first)
    if new_process:
        process = fork_worker(path, name, {**kwargs, "seed": 5}, n_second, 0.0)
        process.join(timeout=120)
        assert process.exitcode == 0
    else:
        continued = optuna.load_study(study_name="s", storage=journal(path), sampler=factory(5))
        continued.optimize(nb201_objective(space), n_trials=n_second)

    resumed = optuna.load_study(study_name="s", storage=journal(path))
    assert proposals(resumed, space) == proposals(straight, space)


def check_interleaved_workers(factory: Any, space: NASBench201Space, n_trials: int) -> Any:
    """Two samplers (as two workers) share one storage, each asking while the other runs.

    Returns the study and both samplers.
    """
    storage = optuna.storages.InMemoryStorage()
    first, second = factory(8), factory(8)
    study_a = optuna.create_study(
        direction="maximize", storage=storage, sampler=first, study_name="s"
    )
    study_b = optuna.load_study(study_name="s", storage=storage, sampler=second)

    for _ in range(n_trials):
        running = []
        for study in (study_a, study_b):
            trial = study.ask()
            running.append((study, trial, space.suggest(trial)))
        for study, trial, arch in running:
            study.tell(trial, nb201_score(space, arch))

    keys = [space.isomorphism_key(space.from_params(t.params)) for t in study_a.trials]
    assert len(keys) == 2 * n_trials
    assert len(set(keys)) == 2 * n_trials
    return study_a, first, second


def _worker(path: str, name: str, kwargs: dict[str, Any], n_trials: int, pause: float) -> None:
    """Run in a forked process: optimize the synthetic objective on a shared journal."""
    import time

    import optuna_nas.samplers as samplers

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = NASBench201Space()
    sampler = getattr(samplers, name)(search_space=space, **kwargs)
    study = optuna.load_study(study_name="s", storage=journal(path), sampler=sampler)

    def objective(trial: optuna.trial.Trial) -> float:
        arch = space.suggest(trial)
        time.sleep(pause)
        return nb201_score(space, arch)

    study.optimize(objective, n_trials=n_trials)


def fork_worker(path: str, name: str, kwargs: dict[str, Any], n_trials: int, pause: float) -> Any:
    """Start a forked worker process on the journal at ``path`` (a started ``Process``).

    Forking keeps the imports of this process, so workers start at once. Only for samplers
    that run no torch code in the worker: OpenMP is not safe across a fork.
    """
    import multiprocessing

    context = multiprocessing.get_context("fork")
    process = context.Process(target=_worker, args=(path, name, kwargs, n_trials, pause))
    process.start()
    return process


def check_shared_storage(
    tmp_path: Any, name: str, kwargs: dict[str, Any], space: NASBench201Space, n_trials: int
) -> None:
    """Two processes on one storage both search, and see each other's architectures.

    The processes are forked, so they start without importing anything again.
    """
    path = str(tmp_path / "shared.log")
    optuna.create_study(direction="maximize", storage=journal(path), study_name="s")
    workers = [fork_worker(path, name, {**kwargs, "seed": 11}, n_trials, 0.01) for _ in range(2)]
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]

    study = optuna.load_study(study_name="s", storage=journal(path))
    trials = study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
    assert len(trials) == 2 * n_trials
    keys = [space.isomorphism_key(space.from_params(t.params)) for t in trials]
    # Without a lock two workers can race between a proposal and its first parameter write,
    # but the sampler sees running trials, so duplicates stay rare.
    assert len(set(keys)) >= 2 * n_trials - 2
