"""``optuna-nas-proxies``: how well zero-cost proxies rank the cells of a tabular benchmark.

Samples cells from a NAS-Bench-201 table, scores each untrained network on one seeded
minibatch with every proxy, and reports the Spearman and Kendall rank correlations with the
table's metric and the mean seconds per architecture of each proxy, as Abdelfattah et al.
("Zero-Cost Proxies for Lightweight NAS", ICLR 2021) and Krishnakumar et al.
("NAS-Bench-Suite-Zero", NeurIPS 2022) do. Optionally runs the training-free search of
:class:`optuna_nas.samplers.ZeroCostSampler` (Mellor et al., ICML 2021) and reports the table
accuracy of the cell it picks.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import hydra
import numpy as np
import torch
from omegaconf import DictConfig
from omegaconf import OmegaConf
from scipy.stats import kendalltau
from scipy.stats import spearmanr

from optuna_nas._hydra import CONFIG_DIR
from optuna_nas.evaluators import load_table
from optuna_nas.proxies import ENSEMBLE
from optuna_nas.proxies import ProxyScorer
from optuna_nas.proxies import ensemble_scores
from optuna_nas.proxies import expand
from optuna_nas.proxies import score
from optuna_nas.spaces import Architecture
from optuna_nas.spaces import NASBench201Space

_logger = logging.getLogger(__name__)


def load_minibatch(
    path: str | os.PathLike[str], *, batch_size: int, seed: int, num_classes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return one seeded minibatch of an ``.npz`` file of images, normalised per channel.

    Args:
        path: A file with ``x`` (``(N, H, W, C)`` or ``(N, C, H, W)`` images, uint8 or float)
            and ``y`` (integer labels).
        batch_size: The number of examples.
        seed: The seed of the draw.
        num_classes: The number of classes; every label must be below it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"`images` must be an existing .npz file, but got {str(path)!r}.")
    with np.load(path, allow_pickle=False) as archive:
        missing = [k for k in ("x", "y") if k not in archive.files]
        if missing:
            raise ValueError(
                f"The file {str(path)!r} must hold arrays x and y; it lacks {missing}."
            )
        images = archive["x"]
        labels = archive["y"].astype(np.int64).reshape(-1)

    if images.ndim != 4:
        raise ValueError(f"`x` in {str(path)!r} must be 4-D images, but has shape {images.shape}.")
    if images.shape[-1] in (1, 3, 4) and images.shape[1] not in (1, 3, 4):
        images = images.transpose(0, 3, 1, 2)
    images = images.astype(np.float32) / (255.0 if images.dtype == np.uint8 else 1.0)
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(
            f"`num_classes` must exceed every label of {str(path)!r}, but got {num_classes} for "
            f"labels in [{labels.min()}, {labels.max()}]."
        )
    if not 2 <= batch_size <= len(images):
        raise ValueError(
            f"`batch_size` must lie in [2, {len(images)}] for {str(path)!r}, but got {batch_size}."
        )

    mean = images.mean(axis=(0, 2, 3), keepdims=True)
    std = images.std(axis=(0, 2, 3), keepdims=True) + 1e-8
    index = np.random.default_rng(seed).permutation(len(images))[:batch_size]
    inputs = torch.from_numpy((images[index] - mean) / std)
    return inputs, torch.from_numpy(labels[index])


def correlations(scores: Sequence[float], truth: Sequence[float]) -> tuple[float, float]:
    """Return the Spearman and Kendall (tau-b) correlations of ``scores`` with ``truth``."""
    rho = spearmanr(scores, truth).statistic
    tau = kendalltau(scores, truth).statistic
    return _finite(rho), _finite(tau)


def _finite(value: Any) -> float:
    value = float(value)
    return value if math.isfinite(value) else 0.0


def run(cfg: DictConfig) -> dict[str, Any]:
    """Run the benchmark described by ``cfg`` (see ``conf/proxies.yaml``) and return the report.

    The report holds ``n_archs``, the correlations and cost of each proxy, the score of every
    architecture under ``scores`` and, when ``search_candidates`` is positive, the search.
    """
    table = load_table(cfg.table, cfg.metric)
    space = NASBench201Space(channels=cfg.channels, cells_per_stage=cfg.cells_per_stage)
    batch = load_minibatch(
        cfg.images, batch_size=cfg.batch_size, seed=cfg.seed, num_classes=cfg.num_classes
    )

    report: dict[str, Any] = {"n_archs": 0, "proxies": {}, "scores": {}}
    if cfg.proxies:
        report.update(correlate(cfg, space, table, batch))

    if cfg.search_candidates > 0:
        report["search"] = search(cfg, space, table, batch)
    return report


def correlate(
    cfg: DictConfig,
    space: NASBench201Space,
    table: dict[str, float],
    batch: tuple[torch.Tensor, torch.Tensor],
) -> dict[str, Any]:
    """Score ``cfg.n_archs`` cells of the table with every proxy and correlate the scores."""
    names = list(cfg.proxies)
    ensemble = list(cfg.ensemble)
    members = expand(names, ensemble)
    strings = sorted(table)
    if not 3 <= cfg.n_archs <= len(strings):
        raise ValueError(
            f"`n_archs` must lie in [3, {len(strings)}] (the table's rows), but got {cfg.n_archs}."
        )

    archs = [space.parse(s) for s in random.Random(cfg.seed).sample(strings, cfg.n_archs)]
    truth = [table[str(arch)] for arch in archs]
    scorer = ProxyScorer(
        search_space=space,
        proxy=ENSEMBLE,
        ensemble=members,
        batch=batch,
        num_classes=cfg.num_classes,
        seed=cfg.seed,
        device=cfg.device,
    )

    time_archs = cfg.n_archs if cfg.time_archs is None else min(cfg.time_archs, cfg.n_archs)
    values: dict[str, list[float]] = {name: [] for name in members}
    seconds: dict[str, list[float]] = {name: [] for name in members}
    started = time.perf_counter()
    for position, arch in enumerate(archs):
        network = scorer.build(arch)
        if position < time_archs:
            # Each proxy alone, as its published cost is measured.
            for name in members:
                tick = time.perf_counter()
                values[name].append(score(network, batch, [name], seed=cfg.seed)[name])
                seconds[name].append(time.perf_counter() - tick)
        else:
            shared = score(network, batch, members, seed=cfg.seed)
            for name in members:
                values[name].append(shared[name])
        if (position + 1) % 10 == 0:
            _logger.info(
                "Scored %d/%d architectures (%.0f s).",
                position + 1,
                len(archs),
                time.perf_counter() - started,
            )

    proxies = {}
    for name in names:
        if name == ENSEMBLE:
            combined = ensemble_scores({m: values[m] for m in ensemble})
            cost = sum(float(np.mean(seconds[m])) if seconds[m] else 0.0 for m in ensemble)
        else:
            combined = values[name]
            cost = float(np.mean(seconds[name])) if seconds[name] else 0.0
        rho, tau = correlations(combined, truth)
        proxies[name] = {"spearman": rho, "kendall": tau, "seconds": cost}

    scores = {"archs": [str(arch) for arch in archs], cfg.metric: truth, **values}
    return {"n_archs": len(archs), "proxies": proxies, "scores": scores}


def search(
    cfg: DictConfig,
    space: NASBench201Space,
    table: dict[str, float],
    batch: tuple[torch.Tensor, torch.Tensor],
) -> dict[str, Any]:
    """Run one single-trial study per seed with a ZeroCostSampler; return the chosen cells."""
    import optuna

    from optuna_nas.samplers import ZeroCostSampler

    # One scorer for every seed: the networks' initialisation and the minibatch stay those of
    # `cfg.seed`, so a cell screened under several seeds is scored once.
    scorer = ProxyScorer(
        search_space=space,
        proxy=cfg.search_proxy,
        ensemble=list(cfg.search_ensemble),
        batch=batch,
        num_classes=cfg.num_classes,
        seed=cfg.seed,
        device=cfg.device,
    )
    chosen: list[Architecture] = []
    for offset in range(cfg.search_seeds):
        sampler = ZeroCostSampler(
            search_space=space,
            seed=cfg.seed + offset,
            n_candidates=cfg.search_candidates,
            scorer=scorer,
        )
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(lambda trial: table[str(space.suggest(trial))], n_trials=1)
        chosen.append(space.from_params(study.best_trial.params))
        _logger.info("Search seed %d chose %s (%.2f).", offset, chosen[-1], table[str(chosen[-1])])

    accuracies = [table[str(arch)] for arch in chosen]
    return {
        "proxy": cfg.search_proxy,
        "members": list(scorer.members),
        "candidates": cfg.search_candidates,
        "seeds": cfg.search_seeds,
        "archs": [str(arch) for arch in chosen],
        "accuracies": accuracies,
        "mean": float(np.mean(accuracies)),
        "std": float(np.std(accuracies)),
    }


def format_report(report: dict[str, Any]) -> str:
    """Return the report as a text table."""
    lines = [
        f"{'proxy':<12}{'spearman':>10}{'kendall':>10}{'seconds':>10}",
    ]
    for name, row in report["proxies"].items():
        lines.append(
            f"{name:<12}{row['spearman']:>10.3f}{row['kendall']:>10.3f}{row['seconds']:>10.3f}"
        )
    lines.append(f"({report['n_archs']} architectures)")

    found = report.get("search")
    if found:
        proxy = found["proxy"]
        if found["members"] != [proxy]:
            proxy += " of " + "+".join(found["members"])
        lines.append(
            f"ZeroCostSampler ({proxy}, {found['candidates']} candidates, "
            f"{found['seeds']} seeds): test accuracy {found['mean']:.2f} +- {found['std']:.2f} "
            f"({', '.join(f'{a:.2f}' for a in found['accuracies'])})"
        )
    return "\n".join(lines)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="proxies")
def main(cfg: DictConfig) -> None:
    """The ``optuna-nas-proxies`` command."""
    from hydra.core.hydra_config import HydraConfig

    _logger.info("Configuration:\n%s", OmegaConf.to_yaml(cfg))
    report = run(cfg)

    print(format_report(report))
    folder = Path(HydraConfig.get().runtime.output_dir)
    scores = report.pop("scores")
    (folder / "scores.json").write_text(json.dumps(scores), encoding="utf-8")
    output = folder / "proxies.json"
    output.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"Wrote {output} and the score of every architecture to {folder / 'scores.json'}")


if __name__ == "__main__":
    main()
