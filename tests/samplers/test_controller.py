from __future__ import annotations

import pytest
import torch

from optuna_nas.samplers import LSTMController


def _controller(seed: int = 0, **kwargs) -> LSTMController:
    return LSTMController([3, 5, 2], generator=torch.Generator().manual_seed(seed), **kwargs)


def test_sample_is_seeded_and_in_range() -> None:
    controller = _controller()

    first = controller.sample(torch.Generator().manual_seed(1))
    again = controller.sample(torch.Generator().manual_seed(1))

    assert first[0] == again[0]
    assert len(first[0]) == 3
    assert all(0 <= c < size for c, size in zip(first[0], [3, 5, 2], strict=True))
    assert first[1].requires_grad and float(first[1]) < 0
    # Near-uniform at initialisation: the entropy is close to that of uniform choices.
    uniform = torch.log(torch.tensor([3.0, 5.0, 2.0])).sum()
    assert float(first[2]) == pytest.approx(float(uniform), rel=0.05)


def test_same_generator_seed_gives_same_weights() -> None:
    a, b, c = _controller(0), _controller(0), _controller(1)
    assert torch.equal(a.heads[1].weight, b.heads[1].weight)
    assert not torch.equal(a.heads[1].weight, c.heads[1].weight)


def test_evaluate_matches_sampled_log_prob() -> None:
    controller = _controller()
    choices, log_prob, entropy = controller.sample(torch.Generator().manual_seed(3))

    evaluated, evaluated_entropy = controller.evaluate([choices])

    assert float(evaluated[0]) == pytest.approx(float(log_prob), abs=1e-6)
    assert float(evaluated_entropy[0]) == pytest.approx(float(entropy), abs=1e-6)


def test_policy_gradient_learns_a_rewarded_sequence() -> None:
    controller = _controller(num_layers=2)
    optimizer = torch.optim.Adam(controller.parameters(), lr=0.05)
    target = torch.tensor([[2, 4, 1]])
    before = float(controller.evaluate(target)[0])

    for _ in range(30):
        choices, log_probs, _ = controller.sample_batch(16, torch.Generator().manual_seed(_))
        reward = (choices == target).float().sum(1)
        loss = -((reward - reward.mean()) * log_probs).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    assert float(controller.evaluate(target)[0]) > before + 1.0


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="`decision_sizes`"):
        LSTMController([])
    with pytest.raises(ValueError, match="`temperature` must be positive, but got 0."):
        LSTMController([2], temperature=0)
    with pytest.raises(ValueError, match="shape"):
        _controller().evaluate([[0, 1]])
    with pytest.raises(ValueError, match="below the decision sizes"):
        _controller().evaluate([[0, 5, 0]])
