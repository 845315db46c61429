from __future__ import annotations

import pytest

from optuna_nas.proxies import ensemble_percentile
from optuna_nas.proxies import ensemble_scores


def test_ensemble_averages_normalised_ranks() -> None:
    scores = {"a": [1.0, 2.0, 3.0], "b": [30.0, 10.0, 20.0]}

    # ranks (0..1): a -> 0, .5, 1; b -> 1, 0, .5
    assert ensemble_scores(scores) == pytest.approx([0.5, 0.25, 0.75])


def test_ensemble_is_invariant_to_monotone_rescaling_and_shares_ties() -> None:
    base = ensemble_scores({"a": [1.0, 5.0, 5.0, 9.0]})
    rescaled = ensemble_scores({"a": [1e-9, 1e40, 1e40, 1e41]})

    assert base == rescaled == pytest.approx([0.0, 0.5, 0.5, 1.0])


def test_ensemble_rejects_unequal_or_missing_scores() -> None:
    with pytest.raises(ValueError, match="same networks"):
        ensemble_scores({"a": [1.0, 2.0], "b": [1.0]})
    with pytest.raises(ValueError, match="at least one proxy"):
        ensemble_scores({})
    assert ensemble_scores({"a": [3.0]}) == [1.0]


def test_percentile_counts_the_reference_networks_beaten() -> None:
    reference = {"a": [1.0, 2.0, 3.0, 4.0], "b": [10.0, 20.0, 30.0, 40.0]}

    assert ensemble_percentile({"a": 5.0, "b": 0.0}, reference) == pytest.approx(0.5)
    assert ensemble_percentile({"a": 2.0, "b": 25.0}, reference) == pytest.approx(
        (1.5 / 4 + 2 / 4) / 2
    )
    with pytest.raises(ValueError, match="lacks the scores"):
        ensemble_percentile({"c": 1.0}, reference)
