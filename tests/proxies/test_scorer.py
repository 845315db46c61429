from __future__ import annotations

import pytest
import torch

from optuna_nas.data import DigitsDataModule
from optuna_nas.proxies import ProxyScorer
from optuna_nas.proxies import minibatch


def test_scorer_draws_a_seeded_batch_and_sizes_networks_from_the_data(cells, space) -> None:
    datamodule = DigitsDataModule(batch_size=8, seed=0)
    scorer = ProxyScorer(search_space=space, proxy="params", datamodule=datamodule, seed=1)

    inputs, targets = scorer.batch
    again, _ = minibatch(DigitsDataModule(batch_size=8, seed=0), batch_size=64, seed=1)
    assert inputs.shape == (64, 1, 8, 8) and torch.equal(inputs, again)
    assert scorer.in_channels == 1 and scorer.num_classes == 10
    assert scorer.score(space.parse(cells["strong"])) > scorer.score(space.parse(cells["weak"]))


def test_scorer_caches_by_isomorphism_and_ranks_with_the_ensemble(cells, space, batch) -> None:
    scorer = ProxyScorer(
        search_space=space, proxy="ensemble", ensemble=["params", "synflow"], batch=batch
    )
    # Two spellings of one network: node 2 does not reach the output, so its edge is unused.
    one = space.parse("|nor_conv_1x1~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|none~2|")
    other = space.parse("|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|nor_conv_1x1~0|none~1|none~2|")
    assert space.isomorphism_key(one) == space.isomorphism_key(other)

    values = scorer.rank([space.parse(cells["weak"]), space.parse(cells["strong"]), one])
    assert values[1] == 1.0 and values[0] < values[1]
    with pytest.raises(ValueError, match="call `rank`"):
        scorer.score(one)

    scorer.member_scores(one)
    assert len(scorer._cache) == 3
    assert scorer.member_scores(other) == scorer.member_scores(one)
    assert len(scorer._cache) == 3


def test_scorer_needs_data(space) -> None:
    with pytest.raises(ValueError, match="`batch` or a `datamodule`"):
        ProxyScorer(search_space=space)


def test_data_free_scorer_ranks_without_a_dataset(cells, space) -> None:
    scorer = ProxyScorer.data_free(search_space=space, proxy="synflow", image_size=8, seed=3)
    again = ProxyScorer.data_free(search_space=space, proxy="synflow", image_size=8, seed=3)

    strong, weak, empty = (space.parse(cells[k]) for k in ("strong", "weak", "empty"))
    assert scorer(strong) == again(strong)
    assert scorer(strong) > scorer(weak) > scorer(empty)
    assert scorer.batch[0].shape == (4, 3, 8, 8)


def test_data_free_scorer_refuses_proxies_that_read_data(space) -> None:
    with pytest.raises(ValueError, match="data-free proxy.*'nwot'"):
        ProxyScorer.data_free(search_space=space, proxy="nwot")
