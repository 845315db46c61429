"""An ensemble of small Transformer encoders that predicts an architecture's value."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from optuna_nas.spaces import Architecture
from optuna_nas.spaces import SearchSpace

_logger = logging.getLogger(__name__)

_LOSSES = ("ranking", "regression")
_ENCODINGS = ("path", "decisions")


class ArchitectureTokenizer:
    """Turn architectures into token sequences for self-attention.

    The sequence is a summary token, one token per decision (unique across decisions, so it
    carries its position) and, with ``encoding="path"`` on a space that has a path encoding
    (White et al., "BANANAS", AAAI 2021), one token per input-to-output path naming its
    sequence of operations. Sequences are padded to a common length.

    Args:
        space: The search space.
        encoding: ``"path"`` (decisions and paths) or ``"decisions"``.
    """

    def __init__(self, space: SearchSpace, *, encoding: str = "path") -> None:
        if encoding not in _ENCODINGS:
            raise ValueError(
                f"`encoding` must be one of {list(_ENCODINGS)}, but got {encoding!r}."
            )

        self.space = space
        self.n_paths = 0
        if encoding == "path":
            try:
                self.n_paths = len(space.encode(space.sample(0), "path"))
            except ValueError:
                _logger.info("Space %r has no path encoding; using decisions only.", space.name)
        self.encoding = "path" if self.n_paths else "decisions"

        # Token 0 pads, token 1 summarises, then the decision tokens, then the path tokens.
        self.vocabulary = 2 + space.n_tokens + self.n_paths

    def __call__(self, archs: Sequence[Architecture]) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the tokens ``(batch, length)`` and the padding mask (``True`` pads)."""
        rows = []
        for arch in archs:
            row = [1] + [2 + t for t in self.space.tokens(arch)]
            if self.n_paths:
                offset = 2 + self.space.n_tokens
                for index, count in enumerate(self.space.encode(arch, "path")):
                    row.extend([offset + index] * int(round(count)))
            rows.append(row)

        length = max(len(r) for r in rows)
        tokens = torch.zeros(len(rows), length, dtype=torch.long)
        for i, row in enumerate(rows):
            tokens[i, : len(row)] = torch.tensor(row)
        return tokens, tokens == 0


class _EnsembleEncoder(nn.Module):
    """``members`` independent Transformer encoders evaluated as one batched computation.

    Each member is a pre-norm Transformer encoder (Vaswani et al., NeurIPS 2017) with its own
    token embedding, ``layers`` blocks of multi-head self-attention and a feed-forward network,
    and a linear head reading the summary token. Weights carry a leading member dimension, so
    one batched matrix product serves the whole ensemble.
    """

    def __init__(
        self,
        *,
        members: int,
        vocabulary: int,
        width: int,
        heads: int,
        layers: int,
        generator: torch.Generator,
    ) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"`width` ({width}) must be a multiple of `heads`, but got {heads}.")

        self.heads = heads

        def weight(*shape: int, fan_in: int) -> nn.Parameter:
            bound = 1.0 / math.sqrt(fan_in)
            return nn.Parameter(
                torch.empty(members, *shape).uniform_(-bound, bound, generator=generator)
            )

        self.embedding = nn.Parameter(
            torch.randn(members, vocabulary, width, generator=generator) * 0.1
        )
        self.blocks = nn.ParameterList()
        self.n_layers = layers
        for _ in range(layers):
            self.blocks.extend(
                [
                    nn.Parameter(torch.ones(members, 1, width)),  # norm 1 scale
                    nn.Parameter(torch.zeros(members, 1, width)),  # norm 1 shift
                    weight(width, 3 * width, fan_in=width),  # query, key, value
                    weight(width, width, fan_in=width),  # attention output
                    nn.Parameter(torch.ones(members, 1, width)),  # norm 2 scale
                    nn.Parameter(torch.zeros(members, 1, width)),  # norm 2 shift
                    weight(width, 2 * width, fan_in=width),  # feed-forward in
                    nn.Parameter(torch.zeros(members, 1, 2 * width)),
                    weight(2 * width, width, fan_in=2 * width),  # feed-forward out
                ]
            )
        self.head = weight(width, 1, fan_in=width)
        self.head_bias = nn.Parameter(torch.zeros(members, 1))

    def forward(self, tokens: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        """Return the predictions ``(members, batch)``."""
        members, width = self.embedding.shape[0], self.embedding.shape[2]
        batch, length = tokens.shape
        heads = self.heads

        x = self.embedding[:, tokens]  # (members, batch, length, width)
        mask = padding[None, :, None, None, :]  # broadcast over members, heads and queries

        for layer in range(self.n_layers):
            n1, b1, qkv_w, out_w, n2, b2, ff_w, ff_b, ff_o = self.blocks[9 * layer : 9 * layer + 9]

            h = functional.layer_norm(x, (width,)) * n1[:, :, None] + b1[:, :, None]
            qkv = h @ qkv_w[:, None]
            q, k, v = (
                part.reshape(members, batch, length, heads, -1).transpose(2, 3)
                for part in qkv.chunk(3, dim=-1)
            )
            scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
            attention = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
            mixed = (attention @ v).transpose(2, 3).reshape(members, batch, length, width)
            x = x + mixed @ out_w[:, None]

            h = functional.layer_norm(x, (width,)) * n2[:, :, None] + b2[:, :, None]
            h = functional.gelu(h @ ff_w[:, None] + ff_b[:, :, None])
            x = x + h @ ff_o[:, None]

        summary = functional.layer_norm(x[:, :, 0], (width,))
        return (summary @ self.head).squeeze(-1) + self.head_bias


class TransformerPredictor:
    """Predict architecture values with an ensemble of small attention models.

    In the spirit of attention-guided evolution (AE-NAS, Sci. Rep. 2025): self-attention runs
    over an architecture's tokens (its decisions and, with the path encoding of White et al.,
    "BANANAS", AAAI 2021, its input-to-output paths), so the model can learn which operations
    matter together. Each member is trained full-batch with Adam on a bootstrap resample of
    the data, with a pairwise logistic ranking loss (``"ranking"``; larger predictions for
    better architectures) or a mean squared error on standardised values (``"regression"``).
    The spread of the members is the uncertainty (Lakshminarayanan et al., NeurIPS 2017).

    Args:
        space: The search space.
        members: Models in the ensemble.
        width: Embedding width.
        heads: Attention heads.
        layers: Encoder blocks.
        epochs: Full-batch training steps.
        learning_rate: Adam's learning rate.
        weight_decay: Adam's weight decay.
        loss: ``"ranking"`` or ``"regression"``.
        encoding: ``"path"`` or ``"decisions"`` (see :class:`ArchitectureTokenizer`).
        seed: Seed of the initial weights and the bootstrap resamples.

    Example:
        >>> from optuna_nas.spaces import NASBench201Space
        >>> space = NASBench201Space()
        >>> archs = [space.sample(i) for i in range(20)]
        >>> predictor = TransformerPredictor(space=space, seed=0).fit(archs, list(range(20)))
        >>> mean, std = predictor.predict(archs[:3])
    """

    def __init__(
        self,
        *,
        space: SearchSpace,
        members: int = 3,
        width: int = 16,
        heads: int = 2,
        layers: int = 1,
        epochs: int = 60,
        learning_rate: float = 1e-2,
        weight_decay: float = 1e-4,
        loss: str = "ranking",
        encoding: str = "path",
        seed: int = 0,
    ) -> None:
        if members < 1:
            raise ValueError(f"`members` must be a positive integer, but got {members}.")
        if epochs < 1:
            raise ValueError(f"`epochs` must be a positive integer, but got {epochs}.")
        if loss not in _LOSSES:
            raise ValueError(f"`loss` must be one of {list(_LOSSES)}, but got {loss!r}.")

        self.tokenizer = ArchitectureTokenizer(space, encoding=encoding)
        self.members = members
        self.width = width
        self.heads = heads
        self.layers = layers
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.loss = loss
        self.seed = seed
        self._model: _EnsembleEncoder | None = None

    def fit(self, archs: Sequence[Architecture], values: Sequence[float]) -> TransformerPredictor:
        """Train the ensemble from scratch; larger values are better.

        Args:
            archs: The architectures.
            values: Their values (at least two, not all equal, for a ranking loss).
        """
        if len(archs) != len(values) or len(archs) < 2:
            raise ValueError(
                f"`archs` and `values` must have the same length of at least 2, but got "
                f"{len(archs)} and {len(values)}."
            )

        generator = torch.Generator().manual_seed(self.seed)
        model = _EnsembleEncoder(
            members=self.members,
            vocabulary=self.tokenizer.vocabulary,
            width=self.width,
            heads=self.heads,
            layers=self.layers,
            generator=generator,
        )
        tokens, padding = self.tokenizer(archs)
        target = torch.tensor(values, dtype=torch.float32)
        target = (target - target.mean()) / target.std().clamp_min(1e-8)

        # Bootstrap: member m counts each example a Poisson(1) number of times.
        counts = torch.poisson(torch.ones(self.members, len(archs)), generator=generator)
        counts[:, counts.sum(0) == 0] = 1.0
        pair_weight = counts[:, :, None] * counts[:, None, :]
        better = (target[:, None] > target[None, :]).float()[None]

        optimizer = torch.optim.Adam(
            model.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay, foreach=True
        )
        for _ in range(self.epochs):
            prediction = model(tokens, padding)

            if self.loss == "regression":
                loss = (counts * (prediction - target) ** 2).sum() / counts.sum()
            else:
                # Pairwise logistic loss over the ordered pairs (i better than j).
                margin = prediction[:, :, None] - prediction[:, None, :]
                weights = pair_weight * better
                loss = (weights * functional.softplus(-margin)).sum() / weights.sum().clamp_min(1)

            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        self._model = model.eval()
        return self

    def predict(self, archs: Sequence[Architecture]) -> tuple[np.ndarray, np.ndarray]:
        """Return the ensemble's mean and standard deviation per architecture."""
        if self._model is None:
            raise RuntimeError("The predictor must be fitted before it predicts.")

        tokens, padding = self.tokenizer(archs)
        with torch.no_grad():
            predictions = self._model(tokens, padding).numpy()
        return predictions.mean(axis=0), predictions.std(axis=0)
