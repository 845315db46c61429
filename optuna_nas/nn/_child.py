"""The NAS-Bench-201 child network built from one cell."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from optuna_nas.nn._ops import ResidualReduction
from optuna_nas.nn._ops import build_op
from optuna_nas.spaces import NB201_EDGES
from optuna_nas.spaces import NB201_NODES
from optuna_nas.spaces import NB201_OPS


class NB201Cell(nn.Module):
    """One cell: node ``j`` sums the ops on the edges from every earlier node.

    Args:
        ops: One op name per edge, in the order of :data:`optuna_nas.spaces.NB201_EDGES`.
        channels: Channels of every node.
    """

    def __init__(self, ops: Sequence[str], channels: int) -> None:
        super().__init__()
        if len(ops) != len(NB201_EDGES):
            raise ValueError(f"A cell needs {len(NB201_EDGES)} ops, but got {len(ops)}.")
        self.ops = tuple(ops)
        self.edges = nn.ModuleList(build_op(op, channels) for op in ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for node in range(1, NB201_NODES):
            total = torch.zeros_like(x)
            for edge, (to, source) in zip(self.edges, NB201_EDGES, strict=True):
                if to == node:
                    total = total + edge(nodes[source])
            nodes.append(total)
        return nodes[-1]


class NB201Network(nn.Module):
    """The NAS-Bench-201 macro skeleton around one cell (Dong & Yang, ICLR 2020).

    A 3x3 convolution stem with batch norm, three stages of ``cells_per_stage`` cells with a
    residual reduction block between stages (halving the resolution, doubling the channels),
    then batch norm, ReLU, global average pooling and a linear classifier. It works on
    inputs as small as 8x8.

    Args:
        ops: One op name per edge of the cell.
        channels: Channels of the first stage (``C``).
        cells_per_stage: Cells per stage (``N``).
        in_channels: Channels of the input images.
        num_classes: Outputs of the classifier.
    """

    def __init__(
        self,
        ops: Sequence[str],
        *,
        channels: int = 16,
        cells_per_stage: int = 5,
        in_channels: int = 3,
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        for op in ops:
            if op not in NB201_OPS:
                raise ValueError(f"Unknown operation {op!r}; expected one of {list(NB201_OPS)}.")

        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )

        layers: list[nn.Module] = []
        width = channels
        for stage in range(3):
            if stage > 0:
                layers.append(ResidualReduction(width, width * 2))
                width *= 2
            layers.extend(NB201Cell(ops, width) for _ in range(cells_per_stage))
        self.cells = nn.Sequential(*layers)

        self.head = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(inplace=False))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(width, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Return the pooled features before the classifier."""
        features = self.head(self.cells(self.stem(x)))
        return self.pool(features).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward_features(x))
