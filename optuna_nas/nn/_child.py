"""The NAS-Bench-201 child network built from one cell."""

from __future__ import annotations

from collections.abc import Callable
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


class NB201Skeleton(nn.Module):
    """The NAS-Bench-201 macro skeleton around a cell (Dong & Yang, ICLR 2020).

    A 3x3 convolution stem with batch norm, three stages of ``cells_per_stage`` cells with a
    residual reduction block between stages (halving the resolution, doubling the channels),
    then batch norm, ReLU, global average pooling and a linear classifier. Child networks and
    supernets share it, so a child's weights load into a supernet path and back.

    Args:
        make_cell: Builds one cell for a channel count.
        channels: Channels of the first stage (``C``).
        cells_per_stage: Cells per stage (``N``).
        in_channels: Channels of the input images.
        num_classes: Outputs of the classifier.
    """

    def __init__(
        self,
        make_cell: Callable[[int], nn.Module],
        *,
        channels: int,
        cells_per_stage: int,
        in_channels: int,
        num_classes: int,
    ) -> None:
        super().__init__()
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
            layers.extend(make_cell(width) for _ in range(cells_per_stage))
        self.cells = nn.ModuleList(layers)

        self.head = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(inplace=False))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(width, num_classes)

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """Return the logits of the last stage's feature maps."""
        return self.classifier(self.pool(self.head(features)).flatten(1))


class NB201Network(NB201Skeleton):
    """The NAS-Bench-201 network of one cell: :class:`NB201Skeleton` with that cell throughout.

    It works on inputs as small as 8x8.

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
        for op in ops:
            if op not in NB201_OPS:
                raise ValueError(f"Unknown operation {op!r}; expected one of {list(NB201_OPS)}.")
        super().__init__(
            lambda width: NB201Cell(ops, width),
            channels=channels,
            cells_per_stage=cells_per_stage,
            in_channels=in_channels,
            num_classes=num_classes,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.stem(x)
        for layer in self.cells:
            out = layer(out)
        return self.classify(out)
