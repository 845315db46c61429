from __future__ import annotations

import optuna
import pytest
from sampler_checks import ToySpace
from sampler_checks import check_interleaved_workers
from sampler_checks import check_no_repeats
from sampler_checks import check_reproducible
from sampler_checks import check_resume
from sampler_checks import check_shared_storage
from sampler_checks import nb201_objective
from sampler_checks import nb201_score
from sampler_checks import proposals

from optuna_nas.samplers import RegularizedEvolutionSampler
from optuna_nas.samplers._base import crowding_distances
from optuna_nas.samplers._base import nondominated_ranks
from optuna_nas.spaces import NASBench201Space


def _factory(space, **kwargs):
    return lambda seed: RegularizedEvolutionSampler(search_space=space, seed=seed, **kwargs)


def test_reproducible(nb201: NASBench201Space) -> None:
    check_reproducible(_factory(nb201), nb201, 40)


def test_no_repeated_or_isomorphic_proposals(toy_space: ToySpace) -> None:
    def objective(trial: optuna.trial.Trial) -> float:
        arch = toy_space.suggest(trial)
        return sum(ord(c) for c in arch.choices) + (arch.choices[2] == "z")

    check_no_repeats(_factory(toy_space, population_size=4), toy_space, objective, 18)


def test_children_are_mutations_of_the_population(nb201: NASBench201Space) -> None:
    study = optuna.create_study(direction="maximize", sampler=_factory(nb201)(0))
    study.optimize(nb201_objective(nb201), n_trials=60)

    archs = [nb201.from_params(t.params) for t in study.trials]
    for number in range(10, 60):
        population = archs[number - 10 : number]
        distance = min(
            sum(a != b for a, b in zip(archs[number].choices, p.choices, strict=True))
            for p in population
        )
        assert distance in (1, 2)


def test_evolution_beats_random_on_a_structured_objective(nb201: NASBench201Space) -> None:
    best = {"evolution": [], "random": []}
    for seed in range(4):
        for name, sampler in (
            ("evolution", _factory(nb201)(seed)),
            ("random", optuna.samplers.RandomSampler(seed=seed)),
        ):
            study = optuna.create_study(direction="maximize", sampler=sampler)
            study.optimize(nb201_objective(nb201), n_trials=80)
            best[name].append(study.best_value)
    assert sum(best["evolution"]) > sum(best["random"])


def test_failed_and_pruned_trials_are_seen_but_not_parents(nb201: NASBench201Space) -> None:
    def objective(trial: optuna.trial.Trial) -> float:
        arch = nb201.suggest(trial)
        if trial.number % 5 == 3:
            raise optuna.TrialPruned()
        if trial.number % 5 == 4:
            return float("nan")
        return nb201_score(nb201, arch)

    study = optuna.create_study(direction="maximize", sampler=_factory(nb201)(1))
    study.optimize(objective, n_trials=50)

    states = [t.state for t in study.trials]
    assert states.count(optuna.trial.TrialState.FAIL) == 10
    assert states.count(optuna.trial.TrialState.PRUNED) == 10
    assert len(set(proposals(study, nb201))) == 50
    # Random start-up lasts until ten trials are complete: trial 16 is the first child.
    sampler = study.sampler
    history = sampler.history(study)
    assert len(history.completed) == 30
    assert len(history.seen_keys) == 50


def test_resume_in_a_new_process(tmp_path, nb201: NASBench201Space) -> None:
    check_resume(tmp_path, "RegularizedEvolutionSampler", {}, _factory(nb201), nb201, 20, 15)


def test_two_processes_share_a_storage(tmp_path, nb201: NASBench201Space) -> None:
    check_shared_storage(tmp_path, "RegularizedEvolutionSampler", {}, nb201, 15)


def _hypervolume(front: list[tuple[float, float]], worst_cost: float = 60.0) -> float:
    """The area dominated by a (maximize score, minimize cost) front above score 0."""
    costs = sorted({c for _, c in front} | {worst_cost})
    area = 0.0
    for low, high in zip(costs, costs[1:], strict=False):
        area += max((s for s, c in front if c <= low), default=0.0) * (high - low)
    return area


def test_two_workers_interleaved_on_one_storage(nb201: NASBench201Space) -> None:
    check_interleaved_workers(_factory(nb201), nb201, 20)


def test_multi_objective_pareto_set(nb201: NASBench201Space) -> None:
    def objective(trial: optuna.trial.Trial) -> tuple[float, float]:
        arch = nb201.suggest(trial)
        cost = sum({"nor_conv_3x3": 9, "nor_conv_1x1": 1}.get(op, 0) for op in arch.choices)
        return nb201_score(nb201, arch), cost

    volumes = {"evolution": 0.0, "random": 0.0}
    for seed in range(3):
        for name, sampler in (
            ("evolution", _factory(nb201, population_size=20, tournament_size=5)(seed)),
            ("random", optuna.samplers.RandomSampler(seed=seed)),
        ):
            study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
            study.optimize(objective, n_trials=80)
            front = [(t.values[0], t.values[1]) for t in study.best_trials]
            volumes[name] += _hypervolume(front)

            assert len(set(front)) >= 2
            for a in front:
                assert not any(b[0] >= a[0] and b[1] <= a[1] and b != a for b in front)

    assert volumes["evolution"] > 1.1 * volumes["random"]


def test_nondominated_ranks_and_crowding() -> None:
    values = [(3.0, 1.0), (2.0, 2.0), (1.0, 3.0), (1.0, 1.0), (0.0, 0.0), (2.0, 1.0)]
    ranks = nondominated_ranks(values)
    assert ranks == [0, 0, 0, 2, 3, 1]

    crowding = crowding_distances(values, ranks)
    assert crowding[0] == crowding[2] == float("inf")
    assert crowding[1] == pytest.approx(2.0)


def test_rejects_bad_arguments(nb201: NASBench201Space) -> None:
    with pytest.raises(ValueError, match="`population_size` must be at least 2, but got 1."):
        RegularizedEvolutionSampler(search_space=nb201, population_size=1)
    with pytest.raises(ValueError, match="`tournament_size`"):
        RegularizedEvolutionSampler(search_space=nb201, population_size=4, tournament_size=5)
    with pytest.raises(TypeError, match="SearchSpace"):
        RegularizedEvolutionSampler(search_space="nb201")


def test_enqueued_architectures_are_not_proposed_again(toy_space: ToySpace) -> None:
    study = optuna.create_study(direction="maximize", sampler=_factory(toy_space)(0))
    for choices in (("x", "y", "z"), ("z", "z", "x")):
        study.enqueue_trial(dict(zip(("a", "b", "c"), choices, strict=True)))
    sampler = study.sampler

    history = sampler.history(study)

    assert history.seen_keys == {"xy/z", "zz/x"}
