from __future__ import annotations

import random

import optuna
import pytest

from optuna_nas.spaces import NB201_OPS
from optuna_nas.spaces import Architecture
from optuna_nas.spaces import NASBench201Space

BEST = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
    "+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
)


def test_parse_round_trip() -> None:
    space = NASBench201Space()
    arch = space.parse(BEST)

    assert str(arch) == BEST
    assert arch.choices[0] == "nor_conv_3x3"
    assert arch.choices[3] == "skip_connect"
    assert space.parse(str(arch)) == arch
    assert hash(space.parse(BEST)) == hash(arch)


def test_architecture_is_immutable() -> None:
    arch = NASBench201Space().parse(BEST)
    with pytest.raises(AttributeError):
        arch.choices = ("none",) * 6  # type: ignore[misc]


@pytest.mark.parametrize(
    ("string", "fragment"),
    [
        ("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "Unknown operation 'conv_5x5'"),
        ("|none~0|+|none~0|none~1|", "needs 3 node groups"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "Node 2"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "must come from node 0"),
        ("garbage", "needs 3 node groups"),
        ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "must start and end with '|'"),
    ],
)
def test_parse_errors_are_one_line(string: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        NASBench201Space().parse(string)

    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_make_rejects_bad_choices() -> None:
    space = NASBench201Space()
    with pytest.raises(ValueError, match="needs 6 choices"):
        space.make(["none"] * 5)
    with pytest.raises(ValueError, match="must be one of"):
        space.make(["none"] * 5 + ["conv"])


def test_isomorphism_count_matches_the_benchmark() -> None:
    space = NASBench201Space()
    keys = {space.isomorphism_key(arch) for arch in space}

    assert space.size == 15625
    assert len(keys) == 6466


def test_isomorphic_cells_share_a_key() -> None:
    space = NASBench201Space()
    # Node 1 is only reachable through `none`, so what leaves it does not matter.
    a = space.parse("|none~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|none~2|")
    b = space.parse("|none~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|none~1|none~2|")
    # Edge order into a node does not matter either.
    c = space.parse("|skip_connect~0|+|none~0|nor_conv_3x3~1|+|nor_conv_1x1~0|none~1|none~2|")
    d = space.parse("|skip_connect~0|+|nor_conv_3x3~0|none~1|+|nor_conv_1x1~0|none~1|none~2|")

    assert space.isomorphism_key(a) == space.isomorphism_key(b)
    assert space.isomorphism_key(c) == space.isomorphism_key(d)
    assert space.isomorphism_key(a) != space.isomorphism_key(c)


def test_encodings() -> None:
    space = NASBench201Space()
    arch = space.parse(BEST)

    onehot = space.encode(arch, "onehot")
    assert len(onehot) == 30
    assert sum(onehot) == 6

    path = space.encode(arch, "path")
    assert len(path) == 4 + 16 + 64
    # Paths: 0->3 (skip), 0->1->3, 0->2->3, 0->1->2->3.
    assert sum(path) == 4
    assert space.paths(arch)[0] == ("skip_connect",)

    empty = space.make(["none"] * 6)
    assert sum(space.encode(empty, "path")) == 0
    with pytest.raises(ValueError, match="`kind`"):
        space.encode(arch, "adjacency")

    tokens = space.tokens(arch)
    assert len(tokens) == 6 and len(set(tokens)) == 6
    assert max(tokens) < space.n_tokens == 30


def test_mutation_and_neighbours_are_seeded() -> None:
    space = NASBench201Space()
    arch = space.parse(BEST)

    neighbours = space.neighbours(arch)
    assert len(neighbours) == 6 * 4
    for neighbour in neighbours:
        assert sum(x != y for x, y in zip(neighbour.choices, arch.choices, strict=True)) == 1

    first = [space.mutate(arch, random.Random(3)) for _ in range(5)]
    again = [space.mutate(arch, random.Random(3)) for _ in range(5)]
    assert first == again
    assert all(m in neighbours for m in first)
    assert space.sample(7) == space.sample(7)
    assert len({space.sample(seed) for seed in range(20)}) > 10


def test_suggest_uses_one_categorical_per_decision() -> None:
    space = NASBench201Space()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()

    arch = space.suggest(trial)
    assert isinstance(arch, Architecture)
    assert set(trial.params) == {d.name for d in space.decisions}
    for decision in space.decisions:
        assert trial.distributions[decision.name] == optuna.distributions.CategoricalDistribution(
            list(NB201_OPS)
        )
    assert space.from_params(trial.params) == arch
    assert space.to_params(arch) == trial.params

    with pytest.raises(ValueError, match="lack decision"):
        space.from_params({})


def test_every_table_row_parses(nb201_table) -> None:
    import csv

    space = NASBench201Space()
    with open(nb201_table, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 15625
    assert all(str(space.parse(row["arch"])) == row["arch"] for row in rows)
