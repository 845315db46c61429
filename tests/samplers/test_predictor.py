from __future__ import annotations

import optuna
import pytest
from hydra import compose
from hydra import initialize_config_dir
from hydra.utils import instantiate
from sampler_checks import ToySpace
from sampler_checks import check_interleaved_workers
from sampler_checks import check_no_repeats
from sampler_checks import check_reproducible
from sampler_checks import check_resume
from sampler_checks import nb201_objective
from sampler_checks import nb201_score

import optuna_nas._cli  # noqa: F401  (registers the main job's config schema)
from optuna_nas._hydra import CONFIG_DIR
from optuna_nas.proxies import ProxyScorer
from optuna_nas.samplers import PredictorEvolutionSampler
from optuna_nas.spaces import NASBench201Space

# A light predictor keeps the tests fast; the defaults are measured by the benchmark.
_LIGHT = {"members": 2, "width": 8, "epochs": 15, "n_mutations": 10}


def _factory(space, **kwargs):
    return lambda seed: PredictorEvolutionSampler(
        search_space=space, seed=seed, **{**_LIGHT, **kwargs}
    )


def test_reproducible(nb201: NASBench201Space) -> None:
    check_reproducible(_factory(nb201), nb201, 16)


def test_no_repeated_or_isomorphic_proposals(toy_space: ToySpace) -> None:
    def objective(trial: optuna.trial.Trial) -> float:
        arch = toy_space.suggest(trial)
        return float(arch.choices.count("y")) + 0.1 * (arch.choices[2] == "x")

    check_no_repeats(_factory(toy_space, n_startup_trials=4), toy_space, objective, 18)


def test_guided_children_come_from_the_best_parents(nb201: NASBench201Space) -> None:
    study = optuna.create_study(direction="maximize", sampler=_factory(nb201, n_parents=2)(0))
    study.optimize(nb201_objective(nb201), n_trials=18)

    for number in range(10, 18):
        done = sorted(study.trials[:number], key=lambda t: -t.value)[:2]
        child = nb201.from_params(study.trials[number].params)
        distance = min(
            sum(
                a != b
                for a, b in zip(child.choices, nb201.from_params(t.params).choices, strict=True)
            )
            for t in done
        )
        assert 1 <= distance <= 3


def test_beats_random_on_a_structured_objective(nb201: NASBench201Space) -> None:
    totals = {"predictor": 0.0, "random": 0.0}
    for seed in range(3):
        for name, sampler in (
            ("predictor", _factory(nb201)(seed)),
            ("random", optuna.samplers.RandomSampler(seed=seed)),
        ):
            study = optuna.create_study(direction="maximize", sampler=sampler)
            study.optimize(nb201_objective(nb201), n_trials=20)
            totals[name] += study.best_value
    assert totals["predictor"] > totals["random"]


def test_startup_scorer_screens_the_first_trials(nb201: NASBench201Space) -> None:
    def convolutions(arch) -> float:
        return float(arch.choices.count("nor_conv_3x3"))

    screened = _factory(nb201, startup_scorer=convolutions, n_startup_candidates=30)(0)
    study = optuna.create_study(direction="maximize", sampler=screened)
    study.optimize(nb201_objective(nb201), n_trials=5)
    plain = optuna.create_study(direction="maximize", sampler=_factory(nb201)(0))
    plain.optimize(nb201_objective(nb201), n_trials=5)

    def mean_convolutions(s: optuna.Study) -> float:
        return sum(convolutions(nb201.from_params(t.params)) for t in s.trials) / 5

    assert mean_convolutions(study) >= 3.0
    assert mean_convolutions(study) > mean_convolutions(plain)


def test_failed_and_pruned_trials_are_not_learned_from(nb201: NASBench201Space) -> None:
    def objective(trial: optuna.trial.Trial) -> float:
        arch = nb201.suggest(trial)
        if trial.number % 4 == 1:
            raise optuna.TrialPruned()
        if trial.number % 4 == 2:
            return float("nan")
        return nb201_score(nb201, arch)

    study = optuna.create_study(direction="maximize", sampler=_factory(nb201)(0))
    study.optimize(objective, n_trials=28)

    keys = {nb201.isomorphism_key(nb201.from_params(t.params)) for t in study.trials}
    assert len(keys) == 28
    # Fourteen complete trials: ten random, then the predictor (fitted on complete ones only).
    sampler = study.sampler
    completed = sampler.history(study).completed
    assert len(completed) == 14
    assert sampler.predictor(completed).predict([completed[0].arch])[0].shape == (1,)


def test_resume_in_a_new_sampler(tmp_path, nb201: NASBench201Space) -> None:
    check_resume(
        tmp_path,
        "PredictorEvolutionSampler",
        _LIGHT,
        _factory(nb201),
        nb201,
        12,
        6,
        new_process=False,
    )


def test_two_workers_share_a_storage(nb201: NASBench201Space) -> None:
    check_interleaved_workers(_factory(nb201), nb201, 8)


def test_multi_objective_studies_are_refused(nb201: NASBench201Space) -> None:
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=_factory(nb201)(0))
    with pytest.raises(ValueError, match="single-objective"):
        study.optimize(lambda t: (nb201_score(nb201, nb201.suggest(t)), 1.0), n_trials=1)


def test_rejects_bad_arguments(nb201: NASBench201Space) -> None:
    with pytest.raises(ValueError, match="`n_startup_trials` must be at least 2, but got 1."):
        PredictorEvolutionSampler(search_space=nb201, n_startup_trials=1)
    with pytest.raises(ValueError, match="`loss` must be one of"):
        PredictorEvolutionSampler(search_space=nb201, loss="hinge")


def test_the_strategy_config_warm_starts_with_data_free_synflow() -> None:
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(
            config_name="config",
            overrides=["strategy=predictor", "search_space.channels=4", "seed=2"],
        )
    sampler = instantiate(cfg.strategy.sampler)

    scorer = sampler.startup_scorer
    assert isinstance(scorer, ProxyScorer) and scorer.proxy == "synflow" and scorer.seed == 2
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(nb201_objective(sampler.search_space), n_trials=2)
    # Each start-up trial is the synflow-best of its screened candidates (fewer distinct
    # classes than draws: random cells are often isomorphic).
    scored = sorted(entry["synflow"] for entry in scorer._cache.values())
    assert len(scored) > sampler.n_startup_candidates
    for trial in study.trials:
        value = scorer(sampler.search_space.from_params(trial.params))
        assert value >= scored[int(0.8 * len(scored))]
