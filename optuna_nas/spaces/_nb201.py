"""The NAS-Bench-201 cell search space (Dong & Yang, ICLR 2020)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any

from optuna_nas.spaces._base import Architecture
from optuna_nas.spaces._base import Decision
from optuna_nas.spaces._base import SearchSpace

if TYPE_CHECKING:
    import torch

#: The candidate operations on every edge, in the benchmark's order.
NB201_OPS: tuple[str, ...] = (
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
)

#: The cell's edges as ``(to_node, from_node)``, in the order of the benchmark's string.
NB201_EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))

#: The number of nodes of a cell; node 0 is the input and the last node is the output.
NB201_NODES = 4

# Every input-to-output path of the cell, as the list of edge positions it crosses.
_PATHS: tuple[tuple[int, ...], ...] = tuple(
    tuple(NB201_EDGES.index((b, a)) for a, b in zip(nodes, nodes[1:], strict=False))
    for length in range(1, NB201_NODES)
    for middle in itertools.combinations(range(1, NB201_NODES - 1), length - 1)
    for nodes in [(0, *middle, NB201_NODES - 1)]
)

_PARAMETERISED_OPS = tuple(op for op in NB201_OPS if op != "none")
_PATH_FEATURES: tuple[tuple[str, ...], ...] = tuple(
    ops
    for length in range(1, NB201_NODES)
    for ops in itertools.product(_PARAMETERISED_OPS, repeat=length)
)
_PATH_FEATURE_INDEX = {ops: i for i, ops in enumerate(_PATH_FEATURES)}


class NASBench201Space(SearchSpace):
    """The NAS-Bench-201 cell space: 6 edges, each one of 5 operations.

    A cell has 4 nodes; node ``j`` sums the outputs of the edges from every earlier node,
    and node 3 is the cell's output. The network stacks three stages of ``cells_per_stage``
    cells with a residual reduction block between stages (Dong & Yang, "NAS-Bench-201:
    Extending the Scope of Reproducible Neural Architecture Search", ICLR 2020).

    Args:
        channels: Channels of the first stage (``C``); the later stages double it.
        cells_per_stage: Cells per stage (``N``).

    Example:
        >>> space = NASBench201Space()
        >>> arch = space.parse(
        ...     "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"
        ... )
        >>> space.size
        15625
    """

    name = "nb201"

    def __init__(self, *, channels: int = 16, cells_per_stage: int = 5) -> None:
        if channels < 1:
            raise ValueError(f"`channels` must be a positive integer, but got {channels}.")
        if cells_per_stage < 1:
            raise ValueError(
                f"`cells_per_stage` must be a positive integer, but got {cells_per_stage}."
            )

        self.channels = channels
        self.cells_per_stage = cells_per_stage
        self._decisions = tuple(Decision(f"edge_{a}_to_{b}", NB201_OPS) for b, a in NB201_EDGES)

    def __repr__(self) -> str:
        return (
            f"NASBench201Space(channels={self.channels}, cells_per_stage={self.cells_per_stage})"
        )

    @property
    def decisions(self) -> tuple[Decision, ...]:
        return self._decisions

    def to_string(self, choices: Sequence[str]) -> str:
        groups = []
        for node in range(1, NB201_NODES):
            edges = [i for i, (to, _) in enumerate(NB201_EDGES) if to == node]
            groups.append("|" + "|".join(f"{choices[i]}~{NB201_EDGES[i][1]}" for i in edges) + "|")
        return "+".join(groups)

    def parse(self, string: str) -> Architecture:
        if not isinstance(string, str):
            raise ValueError(f"A NAS-Bench-201 cell must be a string, but got {string!r}.")

        groups = string.strip().split("+")
        if len(groups) != NB201_NODES - 1:
            raise ValueError(
                f"A NAS-Bench-201 cell needs {NB201_NODES - 1} node groups separated by '+', "
                f"but {string!r} has {len(groups)}."
            )

        choices: list[str] = []
        for node, group in enumerate(groups, start=1):
            if not (group.startswith("|") and group.endswith("|")):
                raise ValueError(
                    f"Node group {group!r} of {string!r} must start and end with '|'."
                )
            edges = group[1:-1].split("|")
            if len(edges) != node:
                raise ValueError(
                    f"Node {node} of {string!r} needs {node} edge(s), but got {len(edges)}."
                )
            for source, edge in enumerate(edges):
                op, _, origin = edge.partition("~")
                if origin != str(source):
                    raise ValueError(
                        f"Edge {edge!r} of {string!r} must come from node {source} "
                        f"(written '{op}~{source}')."
                    )
                if op not in NB201_OPS:
                    raise ValueError(
                        f"Unknown operation {op!r} in {string!r}; expected one of "
                        f"{list(NB201_OPS)}."
                    )
                choices.append(op)

        # The string lists edges node by node, which is the order of NB201_EDGES.
        return self.make(choices)

    def isomorphism_key(self, arch: Architecture) -> str:
        """Return a key shared by cells that compute the same function.

        Each node is written as the sorted sum of its incoming terms: a ``none`` edge, or an
        edge from a node that is a single zero term, is a zero term; a skip connection passes
        its source's term on unchanged, and any other op wraps its source's term. This is the
        benchmark's own notion of equivalence and gives its count of 6,466 distinct networks
        among its 15,625 cells.
        """
        self._check(arch)

        # The notation follows the benchmark's: the input is "0", a zero term is "#", an op
        # applied to a term is "(term)@op", and a node joins its sorted terms with "+".
        # Terms are joined as flat strings, so the count of distinct keys depends on this
        # exact notation; other spellings give other counts.
        terms = {0: "0"}
        for node in range(1, NB201_NODES):
            incoming = []
            for position, (to, source) in enumerate(NB201_EDGES):
                if to != node:
                    continue
                op = arch.choices[position]
                if op == "none" or terms[source] == "#":
                    incoming.append("#")
                elif op == "skip_connect":
                    incoming.append(terms[source])
                else:
                    incoming.append(f"({terms[source]})@{op}")
            # Only a single zero term counts as zero: the benchmark does not propagate zeros
            # through nodes with several inputs.
            terms[node] = "+".join(sorted(incoming))
        return terms[NB201_NODES - 1]

    def paths(self, arch: Architecture) -> list[tuple[str, ...]]:
        """Return every input-to-output path that carries signal, as its sequence of ops."""
        self._check(arch)
        paths = [tuple(arch.choices[i] for i in path) for path in _PATHS]
        return [ops for ops in paths if "none" not in ops]

    def encode(self, arch: Architecture, kind: str = "onehot") -> list[float]:
        """Encode an architecture.

        Args:
            arch: The architecture.
            kind: ``"onehot"`` (6 blocks of 5) or ``"path"``: the count of each possible
                sequence of non-``none`` ops along an input-to-output path (84 features).
        """
        if kind != "path":
            if kind != "onehot":
                raise ValueError(f"`kind` must be 'onehot' or 'path', but got {kind!r}.")
            return super().encode(arch, kind)

        features = [0.0] * len(_PATH_FEATURES)
        for ops in self.paths(arch):
            features[_PATH_FEATURE_INDEX[ops]] += 1.0
        return features

    def build(
        self, arch: Architecture, *, in_channels: int = 3, num_classes: int = 10, **kwargs: Any
    ) -> torch.nn.Module:
        """Build the NAS-Bench-201 network of ``arch``.

        Args:
            arch: The cell.
            in_channels: Channels of the input images.
            num_classes: Outputs of the classifier.
            kwargs: Passed on to :class:`optuna_nas.nn.NB201Network`.
        """
        # Imported here so that the space stays importable without building networks.
        from optuna_nas.nn import NB201Network

        self._check(arch)
        return NB201Network(
            arch.choices,
            channels=self.channels,
            cells_per_stage=self.cells_per_stage,
            in_channels=in_channels,
            num_classes=num_classes,
            **kwargs,
        )
