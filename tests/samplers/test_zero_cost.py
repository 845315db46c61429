from __future__ import annotations

import optuna
import pytest
from hydra import compose
from hydra import initialize_config_dir
from hydra.utils import instantiate

import optuna_nas._cli  # noqa: F401  (registers the main job's config schema)
from optuna_nas._hydra import CONFIG_DIR
from optuna_nas.samplers._zero_cost import ZeroCostSampler
from optuna_nas.spaces import NASBench201Space


def _run(sampler: ZeroCostSampler, space: NASBench201Space, n_trials: int) -> optuna.Study:
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(lambda trial: float(len(str(space.suggest(trial)))), n_trials=n_trials)
    return study


def test_each_trial_takes_the_best_unseen_candidate(space, batch) -> None:
    sampler = ZeroCostSampler(
        search_space=space, seed=3, proxy="params", n_candidates=12, batch=batch
    )
    study = _run(sampler, space, n_trials=3)

    seen: set[str] = set()
    for trial in study.trials:
        candidates = sampler.random_candidates(sampler.trial_rng(trial.number), 12)
        unseen = [a for a in candidates if space.isomorphism_key(a) not in seen]
        best = max(sampler.scorer.score(a) for a in unseen)

        chosen = space.from_params(trial.params)
        assert sampler.scorer.score(chosen) == best
        assert trial.user_attrs["zero_cost_score"] == best
        assert space.isomorphism_key(chosen) not in seen
        seen.add(space.isomorphism_key(chosen))


def test_same_seed_same_trials_and_the_ensemble_works(space, batch) -> None:
    def params(seed: int) -> list[dict[str, str]]:
        sampler = ZeroCostSampler(
            search_space=space,
            seed=seed,
            proxy="ensemble",
            ensemble=["params", "synflow"],
            n_candidates=4,
            batch=batch,
        )
        return [t.params for t in _run(sampler, space, n_trials=2).trials]

    first = params(0)
    assert first == params(0)
    assert first != params(1)


def test_candidates_can_come_from_another_sampler(space, batch) -> None:
    sampler = ZeroCostSampler(
        search_space=space,
        seed=0,
        proxy="params",
        n_candidates=3,
        base_sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=1),
        batch=batch,
    )
    study = _run(sampler, space, n_trials=3)

    keys = {space.isomorphism_key(space.from_params(t.params)) for t in study.trials}
    assert len(keys) == 3
    assert all("zero_cost_score" in t.user_attrs for t in study.trials)


def test_bad_arguments_are_explained(space, batch) -> None:
    with pytest.raises(ValueError, match="`n_candidates` must be at least 1, but got 0"):
        ZeroCostSampler(search_space=space, n_candidates=0, batch=batch)
    with pytest.raises(TypeError, match="`base_sampler` must be an Optuna sampler"):
        ZeroCostSampler(search_space=space, base_sampler="tpe", batch=batch)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Unknown proxy"):
        ZeroCostSampler(search_space=space, proxy="nope", batch=batch)


def test_the_strategy_config_builds_a_working_sampler() -> None:
    overrides = [
        "strategy=zero_cost",
        "dataset=digits",
        "search_space.channels=4",
        "strategy.sampler.n_candidates=3",
        "strategy.sampler.proxy=params",
    ]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    sampler = instantiate(cfg.strategy.sampler)

    assert isinstance(sampler, ZeroCostSampler) and sampler.n_candidates == 3
    study = _run(sampler, sampler.search_space, n_trials=1)
    assert "zero_cost_score" in study.trials[0].user_attrs
