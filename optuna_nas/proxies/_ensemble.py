"""The ensemble proxy: rank aggregation of several proxies.

Abdelfattah et al. ("Zero-Cost Proxies for Lightweight NAS", ICLR 2021) combine ``synflow``,
``jacob_cov`` and ``snip`` by a majority vote over pairs of networks; averaging each network's
rank under every member proxy (Borda count) is the same idea for a whole population, and works
for any number of members.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata

#: The default members of the ensemble, for ranking a whole population (scoring, pruning).
DEFAULT_ENSEMBLE: tuple[str, ...] = ("synflow", "nwot", "jacob_cov")

#: The default members when only the top candidate matters (ZeroCostSampler's screening).
#: ``jacob_cov`` ranks the whole space well but its top-ranked cells are poor: on the 6,466
#: distinct NAS-Bench-201 cells (CIFAR-10 table, one minibatch of photograph crops), the best of
#: 1,000 random candidates averages 93.58 +- 0.22 under synflow + nwot and 93.35 +- 0.44 with
#: jacob_cov added, although the three-member ranking correlates better (Spearman 0.85 vs
#: 0.80). Chosen on that one table; measure your own space before trusting it.
SEARCH_ENSEMBLE: tuple[str, ...] = ("synflow", "nwot")


def ensemble_scores(scores: Mapping[str, Sequence[float]]) -> list[float]:
    """Return each network's mean normalised rank over the member proxies (Borda count).

    Args:
        scores: For each member proxy, the scores of the same networks in the same order.

    Returns:
        One value per network in ``[0, 1]``: 1 for a network every member ranks first, 0 for
        one every member ranks last; ties share their average rank.
    """
    if not scores:
        raise ValueError("The ensemble needs the scores of at least one proxy, but got none.")
    lengths = {name: len(values) for name, values in scores.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(
            f"Every proxy must score the same networks, but got these counts: {lengths}."
        )

    count = next(iter(lengths.values()))
    if count == 0:
        return []
    if count == 1:
        return [1.0]
    ranks = [
        (rankdata(np.asarray(values, dtype=np.float64), method="average") - 1.0) / (count - 1)
        for values in scores.values()
    ]
    return [float(v) for v in np.mean(ranks, axis=0)]


def ensemble_percentile(
    scores: Mapping[str, float], reference: Mapping[str, Sequence[float]]
) -> float:
    """Return one network's mean percentile among a reference population, over the members.

    For each member proxy, the share of the reference networks that the network beats (ties
    count half); the mean over members lies in ``[0, 1]`` and does not change as networks
    are scored later, unlike ranks within a growing population.

    Args:
        scores: The network's score under each member proxy.
        reference: For each member proxy, the scores of the reference networks.
    """
    missing = sorted(set(scores) - set(reference))
    if missing:
        raise ValueError(f"The reference population lacks the scores of proxies {missing}.")
    if not scores:
        raise ValueError("The ensemble needs the scores of at least one proxy, but got none.")

    percentiles = []
    for name, value in scores.items():
        values = np.asarray(reference[name], dtype=np.float64)
        if values.size == 0:
            percentiles.append(0.5)
            continue
        below = float(np.sum(values < value))
        ties = float(np.sum(values == value))
        percentiles.append((below + 0.5 * ties) / values.size)
    return float(np.mean(percentiles))
