"""Primitive operations of the NAS-Bench-201 cell and its reduction block."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from optuna_nas.spaces import NB201_OPS


class ReLUConvBN(nn.Sequential):
    """ReLU, convolution and batch normalisation, the benchmark's ``nor_conv_kxk``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        *,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=kernel_size // 2,
                bias=False,
            ),
            nn.BatchNorm2d(out_channels, affine=affine, track_running_stats=track_running_stats),
        )


class Zero(nn.Module):
    """The ``none`` operation: a tensor of zeros of the input's shape."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


class ResidualReduction(nn.Module):
    """The residual block between stages: halves the resolution and changes the channels.

    Two ReLU-Conv3x3-BN layers (the first with stride 2) plus a shortcut of 2x2 average
    pooling and a 1x1 convolution, as in NAS-Bench-201's ``ResNetBasicblock``.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(in_channels, out_channels, 3, stride=2)
        self.conv_b = ReLUConvBN(out_channels, out_channels, 3)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, ceil_mode=True),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(self.conv_a(x)) + self.shortcut(x)


OpFactory = Callable[..., nn.Module]

#: How each NAS-Bench-201 op is built from a channel count (cells keep the shape).
OPS: dict[str, OpFactory] = {
    "none": lambda channels, **kw: Zero(),
    "skip_connect": lambda channels, **kw: nn.Identity(),
    "nor_conv_1x1": lambda channels, **kw: ReLUConvBN(channels, channels, 1, **kw),
    "nor_conv_3x3": lambda channels, **kw: ReLUConvBN(channels, channels, 3, **kw),
    "avg_pool_3x3": lambda channels, **kw: nn.AvgPool2d(
        3, stride=1, padding=1, count_include_pad=False
    ),
}

if set(OPS) != set(NB201_OPS):  # pragma: no cover - guards the single source of truth
    raise RuntimeError(f"The op table {sorted(OPS)} must match the space's {list(NB201_OPS)}.")


def build_op(name: str, channels: int, **kwargs: bool) -> nn.Module:
    """Build the op called ``name`` for ``channels`` channels.

    Args:
        name: One of :data:`optuna_nas.spaces.NB201_OPS`.
        channels: Input and output channels.
        kwargs: ``affine`` and ``track_running_stats`` for the batch norm of convolutions.
    """
    try:
        factory = OPS[name]
    except KeyError:
        raise ValueError(
            f"Unknown operation {name!r}; expected one of {list(NB201_OPS)}."
        ) from None
    return factory(channels, **kwargs)
