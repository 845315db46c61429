"""The NAS-Bench-201 supernet and the Lightning module that trains its shared weights."""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.data import Sampler

from optuna_nas.nn._child import NB201Network
from optuna_nas.nn._child import NB201Skeleton
from optuna_nas.nn._ops import build_op
from optuna_nas.spaces import NB201_EDGES
from optuna_nas.spaces import NB201_NODES
from optuna_nas.spaces import NB201_OPS

_logger = logging.getLogger(__name__)

#: The study user attribute holding the path of a one-shot search's supernet checkpoint.
CHECKPOINT_ATTR = "supernet_checkpoint"

#: The ways :class:`SupernetModule` can train a supernet.
METHODS = ("single_path", "darts", "darts-", "gdas")

Choices = Sequence[int] | Sequence[str] | torch.Tensor


class MixedEdge(nn.Module):
    """One edge of the supernet holding every candidate op of :data:`NB201_OPS`.

    Args:
        channels: Channels of the edge's input and output.
        affine: Learn the scale and shift of the convolutions' batch norms.
        track_running_stats: Keep running batch-norm statistics.
    """

    def __init__(self, channels: int, *, affine: bool, track_running_stats: bool) -> None:
        super().__init__()
        self.ops = nn.ModuleDict(
            {
                name: build_op(
                    name, channels, affine=affine, track_running_stats=track_running_stats
                )
                for name in NB201_OPS
            }
        )
        self._names = tuple(NB201_OPS)

    def forward(
        self,
        x: torch.Tensor,
        choice: int | None = None,
        weights: torch.Tensor | None = None,
        hard: bool = False,
    ) -> torch.Tensor:
        if choice is not None:
            return self.ops[self._names[choice]](x)

        if weights is None:
            raise ValueError("A mixed edge needs either `choice` or `weights`, but got neither.")

        if hard:
            # A one-hot (straight-through) weight vector: only the chosen op runs, and the
            # gradient reaches the architecture logits through its weight.
            index = int(weights.argmax())
            return weights[index] * self.ops[self._names[index]](x)

        return sum(w * op(x) for w, op in zip(weights, self.ops.values(), strict=True))


class SupernetCell(nn.Module):
    """A NAS-Bench-201 cell whose every edge is a :class:`MixedEdge`.

    Args:
        channels: Channels of every node.
        affine: Learn the scale and shift of the convolutions' batch norms.
        track_running_stats: Keep running batch-norm statistics.
    """

    def __init__(self, channels: int, *, affine: bool, track_running_stats: bool) -> None:
        super().__init__()
        self.edges = nn.ModuleList(
            MixedEdge(channels, affine=affine, track_running_stats=track_running_stats)
            for _ in NB201_EDGES
        )

    def forward(
        self,
        x: torch.Tensor,
        choices: Sequence[int] | None = None,
        weights: torch.Tensor | None = None,
        hard: bool = False,
        aux_skip: float = 0.0,
    ) -> torch.Tensor:
        nodes = [x]
        for node in range(1, NB201_NODES):
            total = torch.zeros_like(x)
            for position, (to, source) in enumerate(NB201_EDGES):
                if to != node:
                    continue
                edge = self.edges[position]
                if choices is not None:
                    total = total + edge(nodes[source], choice=choices[position])
                else:
                    assert weights is not None
                    out = edge(nodes[source], weights=weights[position], hard=hard)
                    if aux_skip:
                        out = out + aux_skip * nodes[source]
                    total = total + out
            nodes.append(total)
        return nodes[-1]


class NB201Supernet(NB201Skeleton):
    """The NAS-Bench-201 network with every candidate op on every edge of every cell.

    The macro skeleton is :class:`optuna_nas.nn.NB201Network`'s, with the same module names,
    so that :meth:`child_state_dict` hands any architecture its inherited weights. All cells
    share one architecture, as in NAS-Bench-201 (Dong & Yang, ICLR 2020). The network runs

    - as a single path (``arch=``): one op per edge, the weight-sharing child of ENAS
      (Pham et al., ICML 2018) and of any one-shot evaluation;
    - as mixed ops (``weights=``): each edge sums its ops weighted by a ``(6, 5)`` tensor of
      architecture weights, as in DARTS (Liu et al., ICLR 2019), or runs only the op of a
      one-hot row with ``hard=True``, as in GDAS (Dong & Yang, CVPR 2019).

    Args:
        channels: Channels of the first stage (``C``).
        cells_per_stage: Cells per stage (``N``).
        in_channels: Channels of the input images.
        num_classes: Outputs of the classifier.
        affine: Learn the scale and shift of the convolutions' batch norms inside the cells.
        track_running_stats: Keep running statistics in the cells' batch norms.

    Example:
        >>> import torch
        >>> supernet = NB201Supernet(channels=4, cells_per_stage=1, num_classes=3)
        >>> supernet(torch.randn(2, 3, 8, 8), arch=[3, 1, 2, 0, 4, 1]).shape
        torch.Size([2, 3])
    """

    def __init__(
        self,
        *,
        channels: int = 16,
        cells_per_stage: int = 5,
        in_channels: int = 3,
        num_classes: int = 10,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        for name, value in (
            ("channels", channels),
            ("cells_per_stage", cells_per_stage),
            ("in_channels", in_channels),
            ("num_classes", num_classes),
        ):
            if value < 1:
                raise ValueError(f"`{name}` must be a positive integer, but got {value}.")

        super().__init__(
            lambda width: SupernetCell(
                width, affine=affine, track_running_stats=track_running_stats
            ),
            channels=channels,
            cells_per_stage=cells_per_stage,
            in_channels=in_channels,
            num_classes=num_classes,
        )
        self.config = {
            "channels": channels,
            "cells_per_stage": cells_per_stage,
            "in_channels": in_channels,
            "num_classes": num_classes,
            "affine": affine,
            "track_running_stats": track_running_stats,
        }

    @property
    def shape(self) -> tuple[int, int]:
        """The shape ``(edges, ops)`` of the architecture weights."""
        return len(NB201_EDGES), len(NB201_OPS)

    def forward(
        self,
        x: torch.Tensor,
        arch: Choices | None = None,
        *,
        weights: torch.Tensor | None = None,
        hard: bool = False,
        aux_skip: float = 0.0,
    ) -> torch.Tensor:
        """Run the supernet.

        Args:
            x: A batch of images.
            arch: One op per edge (names or indices into :data:`NB201_OPS`): the single path.
            weights: A ``(6, 5)`` tensor of op weights per edge: the mixed ops.
            hard: Run only the op with the largest weight of each row of ``weights``.
            aux_skip: Weight of an auxiliary skip connection added to every mixed edge.
        """
        if (arch is None) == (weights is None):
            raise ValueError("The supernet needs exactly one of `arch` and `weights`.")

        choices = self.indices(arch) if arch is not None else None
        if weights is not None and tuple(weights.shape) != self.shape:
            raise ValueError(
                f"`weights` must have shape {self.shape}, but got {tuple(weights.shape)}."
            )

        out = self.stem(x)
        for layer in self.cells:
            if isinstance(layer, SupernetCell):
                out = layer(out, choices=choices, weights=weights, hard=hard, aux_skip=aux_skip)
            else:
                out = layer(out)
        return self.classify(out)

    @staticmethod
    def indices(arch: Choices) -> list[int]:
        """Return the op index of every edge of ``arch`` (op names, indices or a tensor)."""
        if isinstance(arch, torch.Tensor):
            arch = arch.tolist()
        choices = list(getattr(arch, "choices", arch))
        if len(choices) != len(NB201_EDGES):
            raise ValueError(
                f"An architecture needs {len(NB201_EDGES)} ops, but got {len(choices)}: {arch!r}."
            )

        result = []
        for choice in choices:
            if isinstance(choice, str):
                if choice not in NB201_OPS:
                    raise ValueError(
                        f"Unknown operation {choice!r}; expected one of {list(NB201_OPS)}."
                    )
                result.append(NB201_OPS.index(choice))
            elif 0 <= int(choice) < len(NB201_OPS):
                result.append(int(choice))
            else:
                raise ValueError(
                    f"Op indices must lie in [0, {len(NB201_OPS)}), but got {choice!r}."
                )
        return result

    def child_state_dict(self, arch: Choices) -> dict[str, torch.Tensor]:
        """Return the state dict of ``arch``'s :class:`NB201Network` with the shared weights."""
        names = [NB201_OPS[i] for i in self.indices(arch)]

        state = {}
        for key, value in self.state_dict().items():
            parts = key.split(".")
            if parts[0] == "cells" and parts[2:3] == ["edges"]:
                # cells.{i}.edges.{e}.ops.{op}.{rest} -> cells.{i}.edges.{e}.{rest}
                edge, op = int(parts[3]), parts[5]
                if op != names[edge]:
                    continue
                key = ".".join(parts[:4] + parts[6:])
            state[key] = value.detach().clone()
        return state

    def child(self, arch: Choices) -> NB201Network:
        """Build ``arch``'s stand-alone :class:`NB201Network` carrying the shared weights."""
        if not (self.config["affine"] and self.config["track_running_stats"]):
            raise ValueError(
                "Only a supernet with `affine=True` and `track_running_stats=True` matches the "
                "child network's batch norms."
            )

        config = self.config
        network = NB201Network(
            [NB201_OPS[i] for i in self.indices(arch)],
            channels=config["channels"],
            cells_per_stage=config["cells_per_stage"],
            in_channels=config["in_channels"],
            num_classes=config["num_classes"],
        )
        network.load_state_dict(self.child_state_dict(arch))
        return network

    @torch.no_grad()
    def recalibrate(self, arch: Choices, batches: Iterable[torch.Tensor]) -> int:
        """Re-estimate the batch-norm statistics of ``arch``'s path on a few batches.

        The shared statistics mix every path's activations; one-shot methods re-estimate
        them for the path being evaluated (Guo et al., "Single Path One-Shot NAS",
        ECCV 2020). Leaves the network in evaluation mode.

        Args:
            arch: The path.
            batches: Batches of images.

        Returns:
            The number of batches used.
        """
        norms = [m for m in self.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        saved = [(m, m.momentum) for m in norms if m.track_running_stats]
        for norm, _ in saved:
            norm.reset_running_stats()
            norm.momentum = None  # a cumulative average over the calibration batches

        self.train()
        count = 0
        try:
            for images in batches:
                self(images, arch=arch)
                count += 1
        finally:
            for norm, momentum in saved:
                norm.momentum = momentum
            self.eval()
        return count


class SupernetModule(pl.LightningModule):
    """Train an :class:`NB201Supernet` with manual optimisation.

    ``method`` chooses the training:

    - ``"single_path"``: each step trains one path, taken in turn from :attr:`paths` (set by
      ENAS's controller, Pham et al., "Efficient Neural Architecture Search via Parameter
      Sharing", ICML 2018) or drawn uniformly at random when it is ``None``.
    - ``"darts"``: DARTS's bilevel optimisation (Liu, Simonyan & Yang, "DARTS: Differentiable
      Architecture Search", ICLR 2019): each step first updates the architecture parameters
      on a validation batch (Adam), then the weights on a training batch (SGD). With
      ``order=2`` the architecture gradient is DARTS's unrolled hypergradient with the
      finite-difference Hessian-vector product.
    - ``"gdas"``: GDAS (Dong & Yang, "Searching for A Robust Neural Architecture in Four GPU
      Hours", CVPR 2019): the bilevel optimisation with one op per edge drawn by the
      straight-through Gumbel-softmax of the architecture parameters, its temperature
      annealed from ``tau[0]`` to ``tau[1]``; only the drawn ops run.
    - ``"darts-"``: DARTS- (Chu et al., "DARTS-: Robustly Stepping out of Performance
      Collapse Without Indicators", ICLR 2021): DARTS with an auxiliary skip connection
      on every edge whose weight decays linearly from 1 to 0 over ``schedule_steps``.

    Training batches come as a dict ``{"train": (x, y), "val": (x, y)}`` for the bilevel
    methods and as ``(x, y)`` for the single path. The weights' learning rate follows a
    cosine schedule over ``schedule_steps`` steps. The step count, the random streams and
    the schedules are saved in Lightning checkpoints, so a resumed fit continues exactly.

    Args:
        supernet: The supernet to train.
        method: One of ``single_path``, ``darts``, ``darts-``, ``gdas``.
        order: 1 (first order) or 2 (second order) for the bilevel methods.
        lr: Initial learning rate of the weights.
        lr_min: Final learning rate of the cosine schedule.
        momentum: SGD momentum of the weights.
        weight_decay: Weight decay of the weights.
        grad_clip: Largest gradient norm of the weights.
        arch_lr: Adam learning rate of the architecture parameters.
        arch_weight_decay: Adam weight decay of the architecture parameters.
        tau: Initial and final Gumbel-softmax temperature (``gdas``).
        schedule_steps: Steps over which the learning rate, temperature and auxiliary skip
            are annealed.
        hessian_epsilon: Norm of the finite-difference step of the second-order gradient
            (DARTS uses 0.01).
        arch_warmup_steps: Steps during which only the weights train (on the mixture, or on
            paths drawn from the initial, near-uniform parameters), as PC-DARTS (Xu et al.,
            ICLR 2020) warms up before its first architecture update, so parameter-free ops
            do not win merely by learning fastest.
        seed: Seed of the paths, the Gumbel noise and the architecture parameters.
    """

    def __init__(
        self,
        supernet: NB201Supernet,
        *,
        method: str = "single_path",
        order: int = 1,
        lr: float = 0.025,
        lr_min: float = 0.001,
        momentum: float = 0.9,
        weight_decay: float = 3e-4,
        grad_clip: float = 5.0,
        arch_lr: float = 3e-4,
        arch_weight_decay: float = 1e-3,
        tau: tuple[float, float] = (10.0, 0.1),
        schedule_steps: int = 1000,
        hessian_epsilon: float = 0.01,
        arch_warmup_steps: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if method not in METHODS:
            raise ValueError(f"`method` must be one of {list(METHODS)}, but got {method!r}.")
        if order not in (1, 2):
            raise ValueError(f"`order` must be 1 or 2, but got {order!r}.")
        if schedule_steps < 1:
            raise ValueError(f"`schedule_steps` must be positive, but got {schedule_steps}.")
        if arch_warmup_steps < 0:
            raise ValueError(
                f"`arch_warmup_steps` must be zero or more, but got {arch_warmup_steps}."
            )

        self.automatic_optimization = False
        self.supernet = supernet
        self.method = method
        self.order = order
        self.lr = lr
        self.lr_min = lr_min
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.grad_clip = grad_clip
        self.arch_lr = arch_lr
        self.arch_weight_decay = arch_weight_decay
        self.tau = (float(tau[0]), float(tau[1]))
        self.schedule_steps = schedule_steps
        self.hessian_epsilon = hessian_epsilon
        self.arch_warmup_steps = arch_warmup_steps
        self.seed = seed
        self.steps_done = 0

        #: The paths of the coming single-path steps, one row of op indices per step.
        self.paths: torch.Tensor | None = None

        generator = torch.Generator().manual_seed(seed)
        self.arch_parameters = nn.Parameter(
            1e-3 * torch.randn(*supernet.shape, generator=generator),
            requires_grad=self.bilevel,
        )

    @property
    def bilevel(self) -> bool:
        """Whether the method learns architecture parameters."""
        return self.method != "single_path"

    @property
    def progress(self) -> float:
        """The share of ``schedule_steps`` done, capped at 1."""
        return min(1.0, self.steps_done / self.schedule_steps)

    @property
    def temperature(self) -> float:
        """The current Gumbel-softmax temperature (``gdas``), annealed linearly."""
        start, end = self.tau
        return start - (start - end) * self.progress

    @property
    def aux_skip(self) -> float:
        """The current weight of DARTS-'s auxiliary skip connection (0 for other methods)."""
        return 1.0 - self.progress if self.method == "darts-" else 0.0

    def current_lr(self) -> float:
        """The weights' learning rate of the coming step (cosine schedule)."""
        cosine = 0.5 * (1 + math.cos(math.pi * self.progress))
        return self.lr_min + (self.lr - self.lr_min) * cosine

    def probabilities(self) -> torch.Tensor:
        """The softmax of the architecture parameters, one row per edge."""
        return F.softmax(self.arch_parameters.detach(), dim=-1)

    def derive(self) -> list[str]:
        """The architecture the parameters currently select: the top op of every edge."""
        return [NB201_OPS[int(i)] for i in self.arch_parameters.detach().argmax(dim=-1)]

    def forward(self, x: torch.Tensor, arch: Choices | None = None) -> torch.Tensor:
        """Run one path, or the mixed ops weighted by the softmax of the parameters."""
        if arch is not None:
            return self.supernet(x, arch=arch)
        weights = F.softmax(self.arch_parameters, dim=-1)
        return self.supernet(x, weights=weights, aux_skip=self.aux_skip)

    def generator(self, stream: int) -> torch.Generator:
        """A random generator of the current step (the same on every DDP rank)."""
        return torch.Generator().manual_seed(
            (self.seed * 1_000_003 + self.steps_done * 7 + stream) % (2**63)
        )

    def weight_parameters(self) -> list[nn.Parameter]:
        """The supernet's weights (everything but the architecture parameters)."""
        return list(self.supernet.parameters())

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        weights = torch.optim.SGD(
            self.weight_parameters(),
            lr=self.lr,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            nesterov=self.momentum > 0,
        )
        if not self.bilevel:
            return [weights]
        arch = torch.optim.Adam(
            [self.arch_parameters],
            lr=self.arch_lr,
            betas=(0.5, 0.999),
            weight_decay=self.arch_weight_decay,
        )
        return [weights, arch]

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        optimizers = self.optimizers()
        if not isinstance(optimizers, list):
            optimizers = [optimizers]

        if self.bilevel:
            images, labels = batch["train"]
            noise = self._gumbel()
            if self.steps_done >= self.arch_warmup_steps:
                arch_loss = self.architecture_step(
                    batch["val"], batch["train"], noise, optimizers[1]
                )
                self.log("arch_loss", arch_loss, prog_bar=False, batch_size=len(labels))
            else:
                # A step without gradients leaves the parameters (and Adam's state) alone but
                # keeps Lightning's count of two optimiser steps per bilevel step.
                optimizers[1].zero_grad(set_to_none=True)
                optimizers[1].step()
            loss = self.weight_step((images, labels), optimizers[0], noise=noise)
        else:
            loss = self.weight_step(batch, optimizers[0], path=self._next_path())

        self.log("train_loss", loss, prog_bar=True, batch_size=len(batch_labels(batch)))
        self.steps_done += 1
        return loss

    def weight_step(
        self,
        batch: tuple[torch.Tensor, torch.Tensor],
        optimizer: Any,
        *,
        path: Sequence[int] | None = None,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Take one SGD step of the weights on a training batch; returns the loss.

        The architecture parameters take no gradient here.
        """
        images, labels = batch
        for group in optimizer.param_groups:
            group["lr"] = self.current_lr()

        optimizer.zero_grad()
        if path is not None:
            logits = self.supernet(images, arch=path)
        else:
            logits = self._mixed(images, noise, detach=True)
        loss = F.cross_entropy(logits, labels)

        self._backward(loss)
        if self.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.weight_parameters(), self.grad_clip)
        optimizer.step()
        return loss.detach()

    def architecture_step(
        self,
        val_batch: tuple[torch.Tensor, torch.Tensor],
        train_batch: tuple[torch.Tensor, torch.Tensor],
        noise: torch.Tensor | None,
        optimizer: Any,
    ) -> torch.Tensor:
        """Take one step of the architecture parameters on a validation batch.

        The weights are left unchanged: second order restores them after the unrolled step.
        Returns the validation loss.
        """
        optimizer.zero_grad()

        if self.order == 1:
            loss = F.cross_entropy(self._mixed(val_batch[0], noise), val_batch[1])
            (gradient,) = torch.autograd.grad(loss, [self.arch_parameters])
        else:
            loss, gradient = self._unrolled_gradient(val_batch, train_batch, noise)

        self.arch_parameters.grad = self._all_reduce(gradient)
        optimizer.step()
        return loss.detach()

    def _unrolled_gradient(
        self,
        val_batch: tuple[torch.Tensor, torch.Tensor],
        train_batch: tuple[torch.Tensor, torch.Tensor],
        noise: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """DARTS's second-order gradient of the validation loss at the unrolled weights.

        ``w' = w - xi * dL_train/dw`` (with the weights' momentum and decay), then
        ``dL_val(w')/da - xi * (dL_train(w+)/da - dL_train(w-)/da) / (2 eps)`` with
        ``w± = w ± eps * dL_val(w')/dw'`` and ``eps = hessian_epsilon / ||dL_val(w')/dw'||``.
        """
        weights = self.weight_parameters()
        xi = self.current_lr()
        saved = [w.detach().clone() for w in weights]

        # The unrolled step w' = w - xi * (momentum * buffer + grad + decay * w).
        train_loss = F.cross_entropy(self._mixed(train_batch[0], noise), train_batch[1])
        grads = torch.autograd.grad(train_loss, weights, allow_unused=True)
        weight_optimizer = self.optimizers()[0] if self._trainer is not None else None
        with torch.no_grad():
            for w, g in zip(weights, grads, strict=True):
                step = torch.zeros_like(w) if g is None else g + self.weight_decay * w
                state = weight_optimizer.optimizer.state.get(w, {}) if weight_optimizer else {}
                buffer = state.get("momentum_buffer")
                if buffer is not None:
                    step = step + self.momentum * buffer
                w.sub_(xi * step)

        # The gradients of the validation loss at w'.
        val_loss = F.cross_entropy(self._mixed(val_batch[0], noise), val_batch[1])
        grads = torch.autograd.grad(val_loss, [self.arch_parameters, *weights], allow_unused=True)
        arch_gradient = grads[0]
        vector = [
            torch.zeros_like(w) if g is None else g
            for w, g in zip(weights, grads[1:], strict=True)
        ]
        norm = torch.sqrt(sum((v * v).sum() for v in vector))
        eps = self.hessian_epsilon / (float(norm) + 1e-12)

        # The finite-difference Hessian-vector product around the original weights.
        def arch_grad_at(sign: float) -> torch.Tensor:
            with torch.no_grad():
                for w, original, v in zip(weights, saved, vector, strict=True):
                    w.copy_(original + sign * eps * v)
            loss = F.cross_entropy(self._mixed(train_batch[0], noise), train_batch[1])
            return torch.autograd.grad(loss, [self.arch_parameters])[0]

        try:
            hessian_vector = (arch_grad_at(1.0) - arch_grad_at(-1.0)) / (2 * eps)
        finally:
            with torch.no_grad():
                for w, original in zip(weights, saved, strict=True):
                    w.copy_(original)

        return val_loss.detach(), arch_gradient - xi * hessian_vector

    def _mixed(
        self, images: torch.Tensor, noise: torch.Tensor | None, detach: bool = False
    ) -> torch.Tensor:
        """Run the mixed supernet with the method's architecture weights."""
        logits = self.arch_parameters.detach() if detach else self.arch_parameters
        if self.method == "gdas":
            assert noise is not None
            soft = F.softmax((logits + noise) / self.temperature, dim=-1)
            index = soft.argmax(dim=-1, keepdim=True)
            hard = torch.zeros_like(soft).scatter_(-1, index, 1.0)
            weights = hard - soft.detach() + soft
            return self.supernet(images, weights=weights, hard=True)
        weights = F.softmax(logits, dim=-1)
        return self.supernet(images, weights=weights, aux_skip=self.aux_skip)

    def _gumbel(self) -> torch.Tensor | None:
        if self.method != "gdas":
            return None
        uniform = torch.rand(self.supernet.shape, generator=self.generator(1))
        noise = -torch.log(-torch.log(uniform.clamp(1e-10, 1.0 - 1e-10)))
        return noise.to(self.arch_parameters.device)

    def on_train_start(self) -> None:
        self._fit_start = self.steps_done

    def _next_path(self) -> list[int]:
        if self.paths is not None and len(self.paths) > 0:
            position = (self.steps_done - getattr(self, "_fit_start", 0)) % len(self.paths)
            return [int(i) for i in self.paths[position]]
        edges, ops = self.supernet.shape
        return torch.randint(ops, (edges,), generator=self.generator(2)).tolist()

    def _backward(self, loss: torch.Tensor) -> None:
        if self._trainer is not None:
            self.manual_backward(loss)
        else:
            loss.backward()

    def _all_reduce(self, gradient: torch.Tensor) -> torch.Tensor:
        if self._trainer is None or self.trainer.world_size == 1:
            return gradient
        return self.trainer.strategy.reduce(gradient, reduce_op="mean")

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["supernet_config"] = dict(self.supernet.config)
        checkpoint["supernet_method"] = {
            "method": self.method,
            "order": self.order,
            "steps_done": self.steps_done,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.steps_done = int(checkpoint["supernet_method"]["steps_done"])


def batch_labels(batch: Any) -> torch.Tensor:
    """Return the labels of a single or a ``{"train", "val"}`` batch."""
    if isinstance(batch, dict):
        return batch["train"][1]
    return batch[1]


def load_supernet(path: str, map_location: str | torch.device = "cpu") -> NB201Supernet:
    """Load the supernet saved in a :class:`SupernetModule` Lightning checkpoint.

    The checkpoint is read with ``weights_only=True``.

    Args:
        path: The checkpoint file.
        map_location: Where to put the tensors.
    """
    checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    if "supernet_config" not in checkpoint:
        raise ValueError(f"The checkpoint {path!r} was not written by a SupernetModule.")

    supernet = NB201Supernet(**checkpoint["supernet_config"])
    prefix = "supernet."
    state = {
        key[len(prefix) :]: value
        for key, value in checkpoint["state_dict"].items()
        if key.startswith(prefix)
    }
    supernet.load_state_dict(state)
    supernet.eval()
    return supernet


class _SaveCheckpoint(pl.Callback):
    """Write a Lightning checkpoint when training ends (atomically, from global rank 0)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_train_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        partial = self.path.with_name(self.path.name + ".partial")
        # Lightning's `weights_only=False` here means "save the optimiser states too"; the
        # checkpoint is plain tensors and is loaded back with torch's `weights_only=True`.
        trainer.save_checkpoint(partial, weights_only=False)
        if trainer.is_global_zero:
            os.replace(partial, self.path)
        trainer.strategy.barrier("supernet-checkpoint")


def fit_supernet(
    module: SupernetModule,
    *,
    datamodule: Any,
    steps: int,
    checkpoint: str | os.PathLike[str],
    batch_size: int | None = None,
    trainer_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train a supernet for ``steps`` more steps with a Lightning ``Trainer``, resumably.

    When ``checkpoint`` exists, the fit resumes from it (weights, architecture parameters,
    both optimisers and the step count); when training ends the checkpoint is rewritten.
    Each call draws its batches in a fresh order seeded by the module's seed and step count.
    ``trainer_kwargs`` may ask for DDP, e.g. ``{"devices": 2, "strategy":
    "ddp_spawn_find_unused_parameters_true"}``.

    Args:
        module: The module to train (its weights are replaced by the checkpoint's, if any).
        datamodule: An :class:`optuna_nas.data.ArrayDataModule`: weights train on its
            ``train`` split, architecture parameters on its ``val`` split.
        steps: Training steps (batches) to add.
        checkpoint: The Lightning checkpoint file to resume from and write.
        batch_size: Minibatch size; the data module's by default.
        trainer_kwargs: Further ``pytorch_lightning.Trainer`` arguments.

    Returns:
        The written checkpoint, loaded with ``weights_only=True``.
    """
    if steps < 1:
        raise ValueError(f"`steps` must be a positive integer, but got {steps}.")
    path = Path(checkpoint)
    path.parent.mkdir(parents=True, exist_ok=True)

    resume = path if path.is_file() else None
    done = 0
    if resume is not None:
        done = int(torch.load(resume, map_location="cpu", weights_only=True)["global_step"])

    loaders = _search_loaders(module, datamodule, batch_size, stream=done)
    options: dict[str, Any] = {
        "max_steps": done + steps * (2 if module.bilevel else 1),
        "max_epochs": -1,
        "accelerator": "cpu",
        "devices": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "num_sanity_val_steps": 0,
        "limit_val_batches": 0,
    }
    options.update(trainer_kwargs or {})
    options["callbacks"] = [*options.get("callbacks", []), _SaveCheckpoint(path)]

    trainer = pl.Trainer(**options)
    with warnings.catch_warnings():
        # Every fit draws its batches afresh (seeded by the step count), so resuming "mid
        # epoch" without the loader's position is intended here.
        warnings.filterwarnings("ignore", message=r".*resuming from a checkpoint that ended")
        # Lightning 2.6 with torch >= 2.10 warns about its own pytree use on every fit.
        warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
        trainer.fit(module, train_dataloaders=loaders, ckpt_path=resume, weights_only=True)

    return torch.load(path, map_location="cpu", weights_only=True)


def _search_loaders(
    module: SupernetModule, datamodule: Any, batch_size: int | None, stream: int
) -> DataLoader | dict[str, DataLoader]:
    datamodule.setup()
    size = batch_size or datamodule.batch_size

    def loader(split: str, offset: int) -> DataLoader:
        dataset = datamodule.dataset(split)
        seed = module.seed * 1_000_003 + stream * 2 + offset
        return DataLoader(
            dataset,
            batch_size=min(size, len(dataset)),
            sampler=_SeededShuffle(len(dataset), seed),
        )

    if not module.bilevel:
        return loader("train", 0)
    return {"train": loader("train", 0), "val": loader("val", 1)}


class _SeededShuffle(Sampler[int]):
    """A new seeded permutation per pass (picklable for DDP spawn, unlike a generator)."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.seed = seed
        self.passes = 0

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed + 7919 * self.passes)
        self.passes += 1
        return iter(torch.randperm(self.size, generator=generator).tolist())
