"""An LSTM controller that emits one categorical decision per step (Zoph & Le, ICLR 2017)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
from torch import nn

_logger = logging.getLogger(__name__)


class LSTMController(nn.Module):
    """An autoregressive policy over a sequence of categorical decisions.

    Zoph and Le, "Neural Architecture Search with Reinforcement Learning", ICLR 2017: an LSTM
    reads, at each step, the embedding of the previous decision's choice (a learned start token
    at the first step) and a per-decision linear head turns its hidden state into the logits of
    the current decision. Logits may be divided by a temperature and squashed by
    ``tanh_constant * tanh(.)`` as in ENAS (Pham et al., ICML 2018), which keeps the policy
    from collapsing early.

    Args:
        decision_sizes: The number of choices of each decision, in order.
        hidden_size: Width of the embeddings and of the LSTM.
        num_layers: Stacked LSTM cells.
        temperature: Divides the logits (1 leaves them unchanged).
        tanh_constant: If given, logits become ``tanh_constant * tanh(logits)``.
        generator: Seeds the initial weights (uniform in [-0.1, 0.1], as in ENAS).

    Example:
        >>> controller = LSTMController([5] * 6, generator=torch.Generator().manual_seed(0))
        >>> choices, log_prob, entropy = controller.sample(torch.Generator().manual_seed(1))
        >>> len(choices)
        6
    """

    def __init__(
        self,
        decision_sizes: Sequence[int],
        *,
        hidden_size: int = 64,
        num_layers: int = 1,
        temperature: float = 1.0,
        tanh_constant: float | None = 1.5,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        sizes = [int(s) for s in decision_sizes]
        if not sizes or any(s < 1 for s in sizes):
            raise ValueError(
                f"`decision_sizes` must be a non-empty list of positive sizes, but got {sizes}."
            )
        if hidden_size < 1:
            raise ValueError(f"`hidden_size` must be a positive integer, but got {hidden_size}.")
        if num_layers < 1:
            raise ValueError(f"`num_layers` must be a positive integer, but got {num_layers}.")
        if temperature <= 0:
            raise ValueError(f"`temperature` must be positive, but got {temperature}.")
        if tanh_constant is not None and tanh_constant <= 0:
            raise ValueError(f"`tanh_constant` must be positive or None, but got {tanh_constant}.")

        self.decision_sizes = sizes
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.temperature = temperature
        self.tanh_constant = tanh_constant

        # One embedding row per (decision, choice) plus the start token at index 0.
        self._offsets = [1 + sum(sizes[:i]) for i in range(len(sizes))]
        self.embedding = nn.Embedding(1 + sum(sizes), hidden_size)
        self.cells = nn.ModuleList(
            nn.LSTMCell(hidden_size, hidden_size) for _ in range(num_layers)
        )
        self.heads = nn.ModuleList(nn.Linear(hidden_size, size) for size in sizes)

        for parameter in self.parameters():
            nn.init.uniform_(parameter, -0.1, 0.1, generator=generator)

    def _logits(self, hidden: torch.Tensor, step: int) -> torch.Tensor:
        logits = self.heads[step](hidden) / self.temperature
        if self.tanh_constant is not None:
            logits = self.tanh_constant * torch.tanh(logits)
        return logits

    def _run(
        self, batch: int, choices: torch.Tensor | None, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        device = self.embedding.weight.device
        states = [
            (
                torch.zeros(batch, self.hidden_size, device=device),
                torch.zeros(batch, self.hidden_size, device=device),
            )
            for _ in range(self.num_layers)
        ]
        tokens = torch.zeros(batch, dtype=torch.long, device=device)

        picked, log_probs, entropies = [], [], []
        for step in range(len(self.decision_sizes)):
            inputs = self.embedding(tokens)
            for layer, cell in enumerate(self.cells):
                states[layer] = cell(inputs, states[layer])
                inputs = states[layer][0]

            log_p = torch.log_softmax(self._logits(inputs, step), dim=-1)
            if choices is None:
                choice = torch.multinomial(log_p.exp(), 1, generator=generator).squeeze(1)
            else:
                choice = choices[:, step]

            picked.append(choice)
            log_probs.append(log_p.gather(1, choice.unsqueeze(1)).squeeze(1))
            entropies.append(-(log_p.exp() * log_p).sum(dim=1))
            tokens = choice + self._offsets[step]

        return (
            torch.stack(picked, 1),
            torch.stack(log_probs, 1).sum(1),
            torch.stack(entropies, 1).sum(1),
        )

    def sample(
        self, generator: torch.Generator | None = None
    ) -> tuple[list[int], torch.Tensor, torch.Tensor]:
        """Sample one sequence of choices.

        Args:
            generator: The random generator of the draw.

        Returns:
            The choice indices, their summed log-probability and the summed entropy of the
            step distributions (both differentiable scalars).
        """
        choices, log_prob, entropy = self._run(1, None, generator)
        return [int(c) for c in choices[0]], log_prob[0], entropy[0]

    def sample_batch(
        self, size: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sample ``size`` sequences at once: choices ``(size, steps)``, log-probs, entropies."""
        if size < 1:
            raise ValueError(f"`size` must be a positive integer, but got {size}.")
        return self._run(size, None, generator)

    def evaluate(
        self, choices: torch.Tensor | Sequence[Sequence[int]]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the log-probability and entropy of given sequences (teacher forcing).

        Args:
            choices: Choice indices, shape ``(batch, steps)``.
        """
        choices = torch.as_tensor(choices, dtype=torch.long, device=self.embedding.weight.device)
        if choices.dim() != 2 or choices.shape[1] != len(self.decision_sizes):
            raise ValueError(
                f"`choices` must have shape (batch, {len(self.decision_sizes)}), but got "
                f"{tuple(choices.shape)}."
            )
        sizes = torch.tensor(self.decision_sizes, device=choices.device)
        if bool((choices < 0).any()) or bool((choices >= sizes).any()):
            raise ValueError(
                f"`choices` must lie below the decision sizes {self.decision_sizes}, but got "
                f"{choices.tolist()}."
            )
        _, log_prob, entropy = self._run(choices.shape[0], choices, None)
        return log_prob, entropy
