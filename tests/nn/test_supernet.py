from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from optuna_nas.data import DigitsDataModule
from optuna_nas.nn import NB201Network
from optuna_nas.nn import NB201Supernet
from optuna_nas.nn import SupernetModule
from optuna_nas.nn import fit_supernet
from optuna_nas.nn import load_supernet
from optuna_nas.spaces import NB201_OPS

ARCHS = [
    ["nor_conv_3x3", "skip_connect", "nor_conv_1x1", "none", "avg_pool_3x3", "nor_conv_3x3"],
    ["skip_connect"] * 6,
    ["nor_conv_1x1", "none", "nor_conv_3x3", "avg_pool_3x3", "nor_conv_3x3", "none"],
]


def make_supernet(seed: int = 0) -> NB201Supernet:
    torch.manual_seed(seed)
    return NB201Supernet(channels=4, cells_per_stage=2, in_channels=1, num_classes=5)


def batch(seed: int, size: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(size, 1, 8, 8, generator=generator)
    return images, torch.randint(0, 5, (size,), generator=generator)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("train", [False, True])
def test_single_path_matches_the_standalone_network_with_the_same_weights(
    arch: list[str], train: bool
) -> None:
    supernet = make_supernet()
    images, _ = batch(0)
    supernet.train()
    supernet(images, arch=[3, 3, 3, 3, 3, 3])  # moves the shared batch-norm statistics

    child = supernet.child(arch)
    assert isinstance(child, NB201Network)
    assert set(child.state_dict()) == set(supernet.child_state_dict(arch))
    supernet.train(train)
    child.train(train)

    expected = child(images)
    assert torch.allclose(supernet(images, arch=arch), expected, atol=1e-6)
    indices = [NB201_OPS.index(op) for op in arch]
    assert torch.allclose(supernet(images, arch=indices), expected, atol=1e-6)


def test_one_hot_mixed_ops_equal_the_single_path() -> None:
    supernet = make_supernet().eval()
    images, _ = batch(1)
    indices = [3, 1, 2, 0, 4, 3]
    one_hot = F.one_hot(torch.tensor(indices), len(NB201_OPS)).float()

    path = supernet(images, arch=indices)
    assert torch.allclose(supernet(images, weights=one_hot), path, atol=1e-6)
    assert torch.allclose(supernet(images, weights=one_hot, hard=True), path, atol=1e-6)


def test_the_supernet_rejects_bad_inputs() -> None:
    supernet = make_supernet()
    images, _ = batch(0)
    with pytest.raises(ValueError, match="exactly one of `arch` and `weights`"):
        supernet(images)
    with pytest.raises(ValueError, match="needs 6 ops, but got 2"):
        supernet(images, arch=[0, 1])
    with pytest.raises(ValueError, match="Unknown operation 'conv_7x7'"):
        supernet(images, arch=["conv_7x7"] * 6)
    with pytest.raises(ValueError, match=r"`weights` must have shape \(6, 5\)"):
        supernet(images, weights=torch.ones(6, 4))


def test_weight_steps_leave_the_architecture_parameters_alone() -> None:
    module = SupernetModule(make_supernet(), method="darts")
    optimizer = torch.optim.SGD(module.weight_parameters(), lr=0.1)
    alpha = module.arch_parameters.detach().clone()
    weights = [w.detach().clone() for w in module.weight_parameters()]

    module.weight_step(batch(0), optimizer)

    assert module.arch_parameters.grad is None
    assert torch.equal(module.arch_parameters.detach(), alpha)
    assert any(
        not torch.equal(w, v) for w, v in zip(module.weight_parameters(), weights, strict=True)
    )


@pytest.mark.parametrize("method", ["darts", "darts-", "gdas"])
def test_architecture_parameters_learn_from_the_validation_batch_only(method: str) -> None:
    module = SupernetModule(make_supernet(), method=method, order=1)
    optimizer = torch.optim.SGD([module.arch_parameters], lr=1.0)
    weights = [w.detach().clone() for w in module.weight_parameters()]
    alpha = module.arch_parameters.detach().clone()
    val, train = batch(1), batch(2)
    noise = module._gumbel()

    def gradient(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        loss = F.cross_entropy(module._mixed(images, noise), labels)
        return torch.autograd.grad(loss, [module.arch_parameters])[0]

    on_val, on_train = gradient(*val), gradient(*train)
    assert not torch.allclose(on_val, on_train)

    module.architecture_step(val, train, noise, optimizer)

    # The step is exactly the gradient of the validation loss; the weights do not move.
    assert torch.allclose(module.arch_parameters.grad, on_val)
    assert torch.allclose(module.arch_parameters.detach(), alpha - on_val)
    assert all(torch.equal(w, v) for w, v in zip(module.weight_parameters(), weights, strict=True))


def test_second_order_matches_the_exact_unrolled_gradient_and_restores_the_weights() -> None:
    # In double precision and with a small finite-difference step (no ReLU kink crossed),
    # the hypergradient must agree with the exact one from double backpropagation.
    val, train = [
        tuple(t.double() if t.is_floating_point() else t for t in b) for b in (batch(1), batch(2))
    ]
    xi = 0.1
    module = SupernetModule(
        make_supernet().double(), method="darts", order=2, lr=xi, lr_min=xi, hessian_epsilon=1e-6
    ).double()
    names = [name for name, _ in module.supernet.named_parameters()]
    weights = [w.detach().clone() for w in module.weight_parameters()]

    def loss(params: list[torch.Tensor], images: torch.Tensor, labels: torch.Tensor):
        state = dict(zip(names, params, strict=True))
        logits = torch.func.functional_call(
            module.supernet, state, (images,), {"weights": module.arch_parameters.softmax(-1)}
        )
        return F.cross_entropy(logits, labels)

    params = list(module.weight_parameters())
    grads = torch.autograd.grad(loss(params, *train), params, create_graph=True)
    unrolled = [w - xi * (g + module.weight_decay * w) for w, g in zip(params, grads, strict=True)]
    exact = torch.autograd.grad(loss(unrolled, *val), [module.arch_parameters])[0]

    module.architecture_step(val, train, None, torch.optim.SGD([module.arch_parameters], lr=0))

    approximate = module.arch_parameters.grad
    assert (approximate - exact).norm() < 1e-4 * exact.norm()
    assert all(torch.equal(w, v) for w, v in zip(module.weight_parameters(), weights, strict=True))

    first = torch.autograd.grad(loss(params, *val), [module.arch_parameters])[0]
    assert (first - exact).norm() > 1e-2 * exact.norm()


def test_gdas_runs_one_op_per_edge() -> None:
    module = SupernetModule(make_supernet(), method="gdas")
    calls: list[str] = []
    for name, module_op in module.supernet.cells[0].edges[0].ops.items():
        module_op.register_forward_hook(lambda *_, name=name: calls.append(name))

    module._mixed(batch(0)[0], module._gumbel())
    assert len(calls) == 1


def test_the_derived_architecture_follows_the_parameters() -> None:
    module = SupernetModule(make_supernet(), method="darts")
    wanted = [3, 1, 2, 4, 0, 3]
    with torch.no_grad():
        module.arch_parameters.zero_()
        module.arch_parameters[torch.arange(6), torch.tensor(wanted)] = 1.0

    assert module.derive() == [NB201_OPS[i] for i in wanted]
    assert torch.allclose(module.probabilities().sum(dim=1), torch.ones(6))


def test_recalibration_gives_the_path_its_own_batch_statistics() -> None:
    supernet = make_supernet()
    images, _ = batch(3, size=32)
    arch = ARCHS[0]
    supernet.train()
    for seed in range(3):
        supernet(batch(seed)[0] * 5.0, arch=[2] * 6)  # statistics of another path

    assert supernet.recalibrate(arch, [images]) == 1
    assert not supernet.training

    stem_norm = supernet.stem[1]
    features = supernet.stem[0](images)
    assert torch.allclose(stem_norm.running_mean, features.mean(dim=(0, 2, 3)), atol=1e-5)
    assert stem_norm.momentum == 0.1


def small_module(method: str, seed: int = 0) -> SupernetModule:
    torch.manual_seed(seed)
    supernet = NB201Supernet(channels=4, cells_per_stage=1, in_channels=1, num_classes=10)
    return SupernetModule(supernet, method=method, seed=seed, schedule_steps=10)


def test_single_path_training_only_touches_the_given_paths(
    tmp_path: Path, digits: DigitsDataModule
) -> None:
    module = small_module("single_path")
    module.paths = torch.full((3, 6), NB201_OPS.index("nor_conv_1x1"))
    before = {k: v.clone() for k, v in module.supernet.state_dict().items()}

    fit_supernet(module, datamodule=digits, steps=3, checkpoint=tmp_path / "s.ckpt")

    after = load_supernet(str(tmp_path / "s.ckpt")).state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert any(".ops.nor_conv_1x1." in k for k in changed)
    assert not any(".ops.nor_conv_3x3." in k for k in changed)


def test_fits_resume_from_the_lightning_checkpoint(
    tmp_path: Path, digits: DigitsDataModule
) -> None:
    path = tmp_path / "search" / "supernet.ckpt"
    first = fit_supernet(small_module("gdas"), datamodule=digits, steps=2, checkpoint=path)
    assert first["supernet_method"]["steps_done"] == 2

    # A fresh module (as in a new process) continues from the file, optimisers included.
    second = fit_supernet(small_module("gdas"), datamodule=digits, steps=3, checkpoint=path)
    assert second["supernet_method"]["steps_done"] == 5
    assert second["global_step"] == 10  # two optimiser steps per bilevel step
    assert len(second["optimizer_states"]) == 2
    assert not torch.equal(
        first["state_dict"]["arch_parameters"], second["state_dict"]["arch_parameters"]
    )
    assert load_supernet(str(path)).config["num_classes"] == 10


@pytest.mark.slow
def test_ddp_on_two_cpu_processes(
    tmp_path: Path, digits: DigitsDataModule, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "supernet.ckpt"
    trainer_kwargs = {"devices": 2, "strategy": "ddp_spawn_find_unused_parameters_true"}

    checkpoint = fit_supernet(
        small_module("gdas"),
        datamodule=digits,
        steps=2,
        checkpoint=path,
        trainer_kwargs=trainer_kwargs,
    )

    assert checkpoint["supernet_method"]["steps_done"] == 2
    assert checkpoint["global_step"] == 4
    assert torch.isfinite(checkpoint["state_dict"]["arch_parameters"]).all()
    output = "".join(capfd.readouterr())
    assert "MEMBER: 1/2" in output and "MEMBER: 2/2" in output  # both ranks trained


def test_architecture_parameters_wait_for_the_warm_up(
    tmp_path: Path, digits: DigitsDataModule
) -> None:
    path = tmp_path / "supernet.ckpt"

    def fit(steps: int) -> tuple[torch.Tensor, dict]:
        torch.manual_seed(0)
        supernet = NB201Supernet(channels=4, cells_per_stage=1, in_channels=1, num_classes=10)
        module = SupernetModule(supernet, method="gdas", arch_warmup_steps=3, schedule_steps=10)
        initial = module.arch_parameters.detach().clone()
        return initial, fit_supernet(module, datamodule=digits, steps=steps, checkpoint=path)

    initial, warm = fit(3)
    assert torch.equal(warm["state_dict"]["arch_parameters"], initial)
    assert warm["supernet_method"]["steps_done"] == 3
    assert warm["global_step"] == 6

    _, searched = fit(2)
    assert not torch.equal(searched["state_dict"]["arch_parameters"], initial)
    assert searched["supernet_method"]["steps_done"] == 5
