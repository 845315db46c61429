from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest
import torch

from optuna_nas.data import DigitsDataModule
from optuna_nas.nn import CHECKPOINT_ATTR
from optuna_nas.samplers import DARTSSampler
from optuna_nas.spaces import NB201_OPS
from optuna_nas.spaces import NASBench201Space


def make_sampler(space: NASBench201Space, data: DigitsDataModule, **kwargs: Any) -> DARTSSampler:
    options: dict[str, Any] = {"steps_per_trial": 2, "seed": 0, "schedule_steps": 10}
    options.update(kwargs)
    return DARTSSampler(search_space=space, datamodule=data, **options)


def fixed_alpha(wanted: list[int]) -> torch.Tensor:
    alpha = torch.zeros(6, 5)
    alpha[torch.arange(6), torch.tensor(wanted)] = 2.0
    alpha[0, 0] = 1.0  # a second-best op on edge 0
    return alpha


def test_ranked_starts_with_the_derived_cell_and_covers_the_space(
    space: NASBench201Space, digits: DigitsDataModule
) -> None:
    sampler = make_sampler(space, digits, exclude_none=False)
    alpha = torch.randn(6, 5, generator=torch.Generator().manual_seed(0))

    ranked = list(sampler.ranked(alpha))

    assert ranked[0].choices == tuple(NB201_OPS[i] for i in alpha.argmax(dim=1))
    assert len({a.string for a in ranked}) == space.size
    log_probs = torch.log_softmax(alpha, dim=1)
    scores = [
        sum(log_probs[e, NB201_OPS.index(op)] for e, op in enumerate(a.choices))
        for a in ranked[:50]
    ]
    assert scores == sorted(scores, reverse=True)


def test_excluding_none_derives_the_top_other_op(
    space: NASBench201Space, digits: DigitsDataModule
) -> None:
    sampler = make_sampler(space, digits)
    alpha = fixed_alpha([0, 3, 3, 1, 3, 3])
    alpha[0, 0] = 3.0  # none leads edge 0 ...
    alpha[0, 2] = 1.5  # ... ahead of nor_conv_1x1

    derived = next(sampler.ranked(alpha))

    assert derived.choices == ("nor_conv_1x1", *(NB201_OPS[i] for i in [3, 3, 1, 3, 3]))


def test_trials_propose_the_derived_cell_then_the_next_best_unseen(
    space: NASBench201Space, digits: DigitsDataModule, monkeypatch: pytest.MonkeyPatch
) -> None:
    sampler = make_sampler(space, digits, exclude_none=False)
    wanted = [3, 3, 3, 1, 3, 3]
    alpha = fixed_alpha(wanted)
    checkpoint = {"state_dict": {"arch_parameters": alpha}, "supernet_method": {"steps_done": 1}}
    monkeypatch.setattr(sampler, "train_supernet", lambda study: checkpoint)
    study = optuna.create_study(direction="maximize", sampler=sampler)

    study.optimize(lambda trial: 1.0 if space.suggest(trial) else 0.0, n_trials=3)

    archs = [space.from_params(t.params) for t in study.trials]
    expected = list(sampler.ranked(alpha))
    assert archs[0] == expected[0]
    assert archs[0].choices == tuple(NB201_OPS[i] for i in wanted)
    assert archs[1] == expected[1]  # edge 0 switches to its second-best op
    assert len({space.isomorphism_key(a) for a in archs}) == 3
    assert all(t.system_attrs["darts:derived"] == archs[0].string for t in study.trials)


def test_the_search_moves_the_parameters_and_resumes_from_its_files(
    tmp_path: Path, space: NASBench201Space, digits: DigitsDataModule
) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(
        study_name="darts",
        storage=storage,
        direction="maximize",
        sampler=make_sampler(space, digits, directory=tmp_path / "files"),
    )
    study.optimize(lambda trial: float(len(space.suggest(trial).string)), n_trials=2)

    path = Path(study.user_attrs[CHECKPOINT_ATTR])
    assert path.parent == (tmp_path / "files" / "darts").resolve()
    first = torch.load(path, weights_only=True)
    assert first["supernet_method"]["steps_done"] == 4
    probabilities = study.trials[-1].system_attrs["darts:probabilities"]
    assert len(probabilities) == 6 and all(len(row) == 5 for row in probabilities)

    # A new process: a new sampler without a directory finds the files through the study.
    resumed = optuna.load_study(
        study_name="darts", storage=storage, sampler=make_sampler(space, digits)
    )
    resumed.optimize(lambda trial: float(len(space.suggest(trial).string)), n_trials=1)

    second = torch.load(path, weights_only=True)
    assert second["supernet_method"]["steps_done"] == 6
    assert not torch.equal(
        first["state_dict"]["arch_parameters"], second["state_dict"]["arch_parameters"]
    )


def test_same_seed_same_trials(space: NASBench201Space, digits: DigitsDataModule) -> None:
    def run() -> list[dict[str, Any]]:
        sampler = make_sampler(space, digits, remedy="none", order=2, seed=3)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(lambda trial: float(len(space.suggest(trial).string)), n_trials=2)
        return [t.system_attrs["darts:probabilities"] for t in study.trials]

    assert run() == run()


def test_bad_arguments_are_clear_errors(space: NASBench201Space, digits: DigitsDataModule) -> None:
    with pytest.raises(ValueError, match="`remedy` must be one of"):
        make_sampler(space, digits, remedy="pc-darts")
    with pytest.raises(ValueError, match="`steps_per_trial` must be a positive integer"):
        make_sampler(space, digits, steps_per_trial=0)
