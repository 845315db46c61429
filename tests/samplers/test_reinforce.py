from __future__ import annotations

import optuna
import pytest
import torch
from sampler_checks import ToySpace
from sampler_checks import check_interleaved_workers
from sampler_checks import check_no_repeats
from sampler_checks import check_reproducible
from sampler_checks import check_resume
from sampler_checks import nb201_objective
from sampler_checks import nb201_score

from optuna_nas.samplers import REINFORCESampler
from optuna_nas.spaces import NASBench201Space


def _factory(space, **kwargs):
    return lambda seed: REINFORCESampler(search_space=space, seed=seed, **kwargs)


def test_reproducible(nb201: NASBench201Space) -> None:
    check_reproducible(_factory(nb201), nb201, 30)


def test_no_repeated_or_isomorphic_proposals(toy_space: ToySpace) -> None:
    def objective(trial: optuna.trial.Trial) -> float:
        arch = toy_space.suggest(trial)
        return float(arch.choices.count("z"))

    check_no_repeats(_factory(toy_space), toy_space, objective, 18)


def test_controller_learns_the_rewarded_choices(nb201: NASBench201Space) -> None:
    sampler = _factory(nb201)(0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(nb201_objective(nb201), n_trials=80)

    # The synthetic objective pays for paths; the controller must now prefer non-"none" ops
    # on the direct edge from the input to the output more than a uniform policy does.
    controller = sampler.controller_for(study)
    with torch.no_grad():
        choices, _, _ = controller.sample_batch(400, torch.Generator().manual_seed(0))
    none_share = float((choices == 0).float().mean())
    assert none_share < 0.2 - 0.05


def test_replayed_controller_equals_incremental_one(nb201: NASBench201Space) -> None:
    sampler = _factory(nb201)(4)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(nb201_objective(nb201), n_trials=25)

    fresh = _factory(nb201)(4).controller_for(study)
    incremental = sampler.controller_for(study)
    for a, b in zip(fresh.parameters(), incremental.parameters(), strict=True):
        assert torch.allclose(a, b)


def test_failed_and_pruned_trials_give_no_reward(nb201: NASBench201Space) -> None:
    def objective(trial: optuna.trial.Trial) -> float:
        arch = nb201.suggest(trial)
        if trial.number % 3 == 1:
            raise optuna.TrialPruned()
        if trial.number % 3 == 2:
            raise RuntimeError("The training diverged.")
        return nb201_score(nb201, arch)

    study = optuna.create_study(direction="maximize", sampler=_factory(nb201)(0))
    study.optimize(objective, n_trials=30, catch=(RuntimeError,))

    sampler = study.sampler
    with sampler._lock:
        state = next(iter(sampler._states.values()))
    assert len(state.numbers) == 10
    keys = {nb201.isomorphism_key(nb201.from_params(t.params)) for t in study.trials}
    assert len(keys) == 30


def test_resume_in_a_new_sampler(tmp_path, nb201: NASBench201Space) -> None:
    check_resume(
        tmp_path, "REINFORCESampler", {}, _factory(nb201), nb201, 15, 10, new_process=False
    )


def test_two_workers_share_a_storage(nb201: NASBench201Space) -> None:
    study, first, second = check_interleaved_workers(_factory(nb201), nb201, 12)

    # Both workers rebuild the same controller from the shared trials.
    for a, b in zip(
        first.controller_for(study).parameters(),
        second.controller_for(study).parameters(),
        strict=True,
    ):
        assert torch.equal(a, b)


def test_multi_objective_studies_are_refused(nb201: NASBench201Space) -> None:
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=_factory(nb201)(0))
    with pytest.raises(ValueError, match="single-objective"):
        study.optimize(lambda t: (nb201_score(nb201, nb201.suggest(t)), 1.0), n_trials=1)


def test_rejects_bad_arguments(nb201: NASBench201Space) -> None:
    with pytest.raises(ValueError, match="`learning_rate` must be positive, but got 0."):
        REINFORCESampler(search_space=nb201, learning_rate=0)
    with pytest.raises(ValueError, match="`baseline_decay`"):
        REINFORCESampler(search_space=nb201, baseline_decay=1.0)
