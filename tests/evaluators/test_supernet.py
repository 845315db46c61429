from __future__ import annotations

import os
from pathlib import Path

import optuna
import pytest
import torch

from optuna_nas.data import DigitsDataModule
from optuna_nas.evaluators import SupernetEvaluator
from optuna_nas.nn import CHECKPOINT_ATTR
from optuna_nas.nn import NB201Supernet
from optuna_nas.nn import SupernetModule
from optuna_nas.nn import fit_supernet
from optuna_nas.spaces import NASBench201Space

SPACE = NASBench201Space(channels=4, cells_per_stage=1)
ARCH = SPACE.make(
    ["nor_conv_3x3", "skip_connect", "nor_conv_1x1", "none", "avg_pool_3x3", "nor_conv_3x3"]
)


@pytest.fixture
def checkpoint(tmp_path: Path, digits: DigitsDataModule) -> Path:
    torch.manual_seed(0)
    supernet = NB201Supernet(channels=4, cells_per_stage=1, in_channels=1, num_classes=10)
    path = tmp_path / "supernet.ckpt"
    fit_supernet(SupernetModule(supernet), datamodule=digits, steps=3, checkpoint=path)
    return path


def test_the_score_is_the_accuracy_of_the_recalibrated_child_network(
    checkpoint: Path, digits: DigitsDataModule
) -> None:
    evaluator = SupernetEvaluator(datamodule=digits, calibration_batches=2, seed=5)
    supernet = evaluator.supernet(str(checkpoint))

    score = evaluator.score(supernet, ARCH)

    # The same weights in a stand-alone network, its batch norms estimated on the same batches.
    child = supernet.child(ARCH)
    for module in child.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
    child.train()
    with torch.no_grad():
        for i in range(2):
            child(digits.batch(32, split="train", seed=5 + i)[0])
    child.eval()
    images, labels = digits.dataset("val").tensors
    with torch.no_grad():
        expected = (child(images).argmax(dim=1) == labels).float().mean().item() * 100

    assert score == pytest.approx(expected, abs=1e-4)


def test_the_study_names_the_checkpoint_and_a_rewritten_file_is_read_again(
    checkpoint: Path, digits: DigitsDataModule
) -> None:
    evaluator = SupernetEvaluator(datamodule=digits, calibration_batches=1)
    study = optuna.create_study(direction="maximize")
    study.set_user_attr(CHECKPOINT_ATTR, str(checkpoint))

    trial = study.ask()
    value = evaluator(trial, ARCH)
    first = evaluator.supernet(str(checkpoint))

    assert 0.0 <= value <= 100.0
    assert trial.user_attrs["supernet_accuracy"] == value
    assert evaluator.supernet(str(checkpoint)) is first

    saved = torch.load(checkpoint, weights_only=True)
    torch.save(saved, checkpoint)
    stat = checkpoint.stat()
    os.utime(checkpoint, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert evaluator.supernet(str(checkpoint)) is not first


def test_a_study_without_a_supernet_is_a_clear_error(digits: DigitsDataModule) -> None:
    evaluator = SupernetEvaluator(datamodule=digits)
    trial = optuna.create_study().ask()

    with pytest.raises(RuntimeError, match="no `supernet_checkpoint` user attribute"):
        evaluator(trial, ARCH)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        evaluator.supernet("missing.ckpt")
    with pytest.raises(ValueError, match="`calibration_batches` must be zero or more"):
        SupernetEvaluator(datamodule=digits, calibration_batches=-1)
