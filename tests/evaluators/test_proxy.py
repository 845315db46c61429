from __future__ import annotations

import optuna
import pytest
from hydra import compose
from hydra import initialize_config_dir
from hydra.utils import instantiate

import optuna_nas._cli  # noqa: F401  (registers the main job's config schema)
import optuna_nas.evaluators
from optuna_nas._hydra import CONFIG_DIR
from optuna_nas.evaluators._proxy import ProxyEvaluator
from optuna_nas.proxies import ProxyScorer
from optuna_nas.pruners import ZeroCostPruner

STRONG = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
    "+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
)
EMPTY = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


def test_the_proxy_score_is_the_objective_and_is_recorded(space, batch) -> None:
    evaluator = ProxyEvaluator(search_space=space, proxy="synflow", batch=batch, seed=0)
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(space.to_params(space.parse(STRONG)))
    study.enqueue_trial(space.to_params(space.parse(EMPTY)))

    study.optimize(lambda trial: evaluator(trial, space.suggest(trial)), n_trials=2)

    strong, empty = study.trials
    assert strong.value == strong.user_attrs["proxy_synflow"] > 0
    assert strong.value == ProxyEvaluator(search_space=space, proxy="synflow", batch=batch)(
        optuna.trial.FixedTrial(strong.params), space.parse(STRONG)
    )
    assert empty.value == -1e30
    assert strong.user_attrs["proxy_seconds"] >= 0.0


def test_the_ensemble_places_an_architecture_among_a_fixed_reference(space, batch) -> None:
    evaluator = ProxyEvaluator(
        search_space=space,
        proxy="ensemble",
        ensemble=["params", "synflow"],
        reference_size=6,
        batch=batch,
    )

    best, scores = evaluator.evaluate(space.parse(STRONG))
    worst, _ = evaluator.evaluate(space.parse(EMPTY))

    assert set(scores) == {"params", "synflow"}
    assert 0.0 <= worst < best <= 1.0
    assert len(evaluator.reference()["params"]) == 6
    assert evaluator.evaluate(space.parse(STRONG))[0] == best


def test_bad_reference_size_is_explained(space, batch) -> None:
    with pytest.raises(ValueError, match="`reference_size` must be at least 1, but got 0"):
        ProxyEvaluator(search_space=space, reference_size=0, batch=batch)


def test_the_evaluator_and_pruner_configs_build_working_objects() -> None:
    if not hasattr(optuna_nas.evaluators, "ProxyEvaluator"):
        pytest.skip("optuna_nas.evaluators does not export ProxyEvaluator yet.")
    overrides = [
        "evaluator=proxy",
        "pruner=zero_cost",
        "dataset=digits",
        "search_space.channels=4",
        "evaluator.proxy=params",
        "pruner.proxy=params",
    ]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    evaluator = instantiate(cfg.evaluator)
    pruner = instantiate(cfg.pruner)

    assert isinstance(evaluator, ProxyEvaluator) and isinstance(pruner, ZeroCostPruner)
    arch = evaluator.scorer.search_space.parse(STRONG)
    value = evaluator(optuna.trial.FixedTrial({}), arch)
    assert value == pruner.scorer.score(arch) > 0


def test_a_shared_scorer_scores_each_cell_once(space, batch, monkeypatch) -> None:
    scorer = ProxyScorer(search_space=space, proxy="synflow", batch=batch, seed=0)
    evaluator = ProxyEvaluator(search_space=space, scorer=scorer)
    pruner = ZeroCostPruner(search_space=space, scorer=scorer)
    value, _ = evaluator.evaluate(space.parse(STRONG))

    def no_build(*args, **kwargs):
        raise AssertionError("The cell was scored a second time.")

    monkeypatch.setattr(type(space), "build", no_build)

    assert pruner.scorer.member_scores(space.parse(STRONG))["synflow"] == value
