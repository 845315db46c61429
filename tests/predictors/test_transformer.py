from __future__ import annotations

import random

import numpy as np
import pytest
from scipy.stats import kendalltau

from optuna_nas.predictors import ArchitectureTokenizer
from optuna_nas.predictors import TransformerPredictor
from optuna_nas.spaces import Architecture
from optuna_nas.spaces import Decision
from optuna_nas.spaces import NASBench201Space
from optuna_nas.spaces import SearchSpace


class _PlainSpace(SearchSpace):
    """Two decisions and no path encoding."""

    name = "plain"

    @property
    def decisions(self) -> tuple[Decision, ...]:
        return (Decision("a", ("p", "q")), Decision("b", ("r", "s", "t")))

    def to_string(self, choices):
        return "/".join(choices)

    def parse(self, string: str) -> Architecture:
        return self.make(string.split("/"))

    def isomorphism_key(self, arch: Architecture) -> str:
        return arch.string

    def build(self, arch, **kwargs):
        raise NotImplementedError("The plain space of the tests builds no networks.")


def _score(space: NASBench201Space, arch: Architecture) -> float:
    # Structured like real cells: convolutions on long paths help, pooling hurts.
    weights = {"nor_conv_3x3": 1.0, "nor_conv_1x1": 0.6, "skip_connect": 0.2, "avg_pool_3x3": 0.0}
    return sum(sum(weights[op] for op in path) for path in space.paths(arch))


def test_tokens_hold_decisions_and_paths() -> None:
    space = NASBench201Space()
    tokenizer = ArchitectureTokenizer(space)
    full = space.parse(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
        "nor_conv_3x3~2|"
    )
    empty = space.make(["none"] * 6)

    tokens, padding = tokenizer([full, empty])

    assert tokenizer.encoding == "path"
    assert tokenizer.vocabulary == 2 + 30 + 84
    # Summary token, six decisions and the four paths of the cell; the empty cell has none.
    assert tokens.shape == (2, 11)
    assert padding[0].sum() == 0
    assert int((~padding[1]).sum()) == 7
    assert tokens[0, 0] == 1 and tokens[0, 1:7].tolist() == [2 + t for t in space.tokens(full)]


def test_spaces_without_paths_use_decisions() -> None:
    tokenizer = ArchitectureTokenizer(_PlainSpace())
    tokens, _ = tokenizer([_PlainSpace().make(["q", "t"])])
    assert tokenizer.encoding == "decisions"
    assert tokens.tolist() == [[1, 3, 6]]


@pytest.mark.parametrize("loss", ["ranking", "regression"])
def test_predictor_ranks_unseen_architectures(loss: str) -> None:
    space = NASBench201Space()
    rng = random.Random(0)
    archs = [space.sample(rng) for _ in range(240)]
    train, test = archs[:40], archs[40:]

    predictor = TransformerPredictor(space=space, loss=loss, epochs=40, learning_rate=2e-2, seed=1)
    predictor.fit(train, [_score(space, a) for a in train])
    mean, std = predictor.predict(test)

    assert mean.shape == std.shape == (200,)
    assert kendalltau(mean, [_score(space, a) for a in test])[0] > 0.5
    assert float(std.mean()) > 0


def test_predictor_is_seeded() -> None:
    space = NASBench201Space()
    archs = [space.sample(i) for i in range(30)]
    values = [_score(space, a) for a in archs]

    def predictions(seed: int) -> np.ndarray:
        predictor = TransformerPredictor(space=space, epochs=10, seed=seed)
        return predictor.fit(archs, values).predict(archs[:5])[0]

    assert np.array_equal(predictions(3), predictions(3))
    assert not np.array_equal(predictions(3), predictions(4))


def test_predictor_rejects_bad_input() -> None:
    space = NASBench201Space()
    with pytest.raises(ValueError, match="`loss` must be one of"):
        TransformerPredictor(space=space, loss="hinge")
    with pytest.raises(ValueError, match="`encoding` must be one of"):
        TransformerPredictor(space=space, encoding="graph")
    with pytest.raises(ValueError, match="at least 2"):
        TransformerPredictor(space=space).fit([space.sample(0)], [1.0])
    with pytest.raises(RuntimeError, match="fitted"):
        TransformerPredictor(space=space).predict([space.sample(0)])
