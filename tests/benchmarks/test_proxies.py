from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose
from hydra import initialize_config_dir

from optuna_nas._hydra import CONFIG_DIR
from optuna_nas.benchmarks._proxies import load_minibatch
from optuna_nas.benchmarks._proxies import main
from optuna_nas.benchmarks._proxies import run
from optuna_nas.evaluators import load_table
from optuna_nas.spaces import NASBench201Space


@pytest.fixture
def conv_table(tmp_path: Path) -> Path:
    """A table of every cell whose metric grows with the cell's convolution weights."""
    space = NASBench201Space()
    path = tmp_path / "table.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arch", "test_accuracy"])
        for arch in space:
            weights = sum({"nor_conv_3x3": 9, "nor_conv_1x1": 1}.get(op, 0) for op in arch.choices)
            writer.writerow([str(arch), weights if space.paths(arch) else -1])
    return path


@pytest.fixture
def images(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "images.npz"
    np.savez(path, x=rng.integers(0, 256, (40, 8, 8, 3), dtype=np.uint8), y=np.arange(40) % 10)
    return path


def _overrides(table: Path, images: Path) -> list[str]:
    return [
        f"table={table}",
        f"images={images}",
        "proxies=[params,synflow,nwot,ensemble]",
        "ensemble=[params,nwot]",
        "n_archs=6",
        "time_archs=2",
        "batch_size=8",
        "channels=4",
        "cells_per_stage=1",
        "search_candidates=4",
        "search_seeds=2",
        "search_proxy=params",
    ]


def test_run_correlates_every_proxy_and_searches(conv_table: Path, images: Path) -> None:
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="proxies", overrides=_overrides(conv_table, images))

    report = run(cfg)

    assert report["n_archs"] == 6
    assert list(report["proxies"]) == ["params", "synflow", "nwot", "ensemble"]
    rows = report["proxies"]
    for row in rows.values():
        assert -1.0 <= row["spearman"] <= 1.0 and -1.0 <= row["kendall"] <= 1.0
    # The table ranks cells by their convolution weights, which is what `params` counts.
    assert rows["params"]["spearman"] > 0.9
    assert rows["ensemble"]["seconds"] == pytest.approx(
        rows["params"]["seconds"] + rows["nwot"]["seconds"]
    )
    assert rows["params"]["seconds"] > 0.0

    table = load_table(conv_table)
    found = report["search"]
    assert found["accuracies"] == [table[arch] for arch in found["archs"]]
    assert found["mean"] == pytest.approx(np.mean(found["accuracies"]))


def test_the_command_writes_proxies_json(small_table: Path, images: Path, tmp_path, monkeypatch):
    folder = tmp_path / "run"
    overrides = [
        *_overrides(small_table, images),
        "proxies=[params]",
        "search_candidates=0",
        f"hydra.run.dir={folder}",
        "hydra/job_logging=disabled",
        "hydra/hydra_logging=disabled",
    ]
    monkeypatch.setattr(sys, "argv", ["optuna-nas-proxies", *overrides])

    main()

    report = json.loads((folder / "proxies.json").read_text())
    assert report["n_archs"] == 6 and set(report["proxies"]) == {"params"}
    assert set(report["proxies"]["params"]) == {"spearman", "kendall", "seconds"}
    scores = json.loads((folder / "scores.json").read_text())
    assert len(scores["archs"]) == len(scores["params"]) == 6


def test_the_minibatch_is_seeded_normalised_and_checked(images: Path) -> None:
    inputs, targets = load_minibatch(images, batch_size=8, seed=0, num_classes=10)
    again, _ = load_minibatch(images, batch_size=8, seed=0, num_classes=10)

    assert inputs.shape == (8, 3, 8, 8) and targets.shape == (8,)
    assert (inputs == again).all()
    with pytest.raises(ValueError, match="`num_classes` must exceed every label"):
        load_minibatch(images, batch_size=8, seed=0, num_classes=5)
    with pytest.raises(FileNotFoundError, match="`images` must be an existing .npz file"):
        load_minibatch(images.with_name("nope.npz"), batch_size=8, seed=0, num_classes=10)
