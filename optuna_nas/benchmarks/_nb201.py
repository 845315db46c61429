"""``optuna-nas-benchmark``: compare search strategies on a tabular NAS-Bench-201 benchmark.

Every strategy is an Optuna sampler configured by ``conf/strategy/<name>.yaml``, the same file
the main job uses; each (strategy, seed) pair runs a fresh in-memory study whose objective is
a table lookup (Dong & Yang, "NAS-Bench-201", ICLR 2020), and the command reports the mean and
standard deviation over seeds of the best value found after each checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import statistics
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import as_completed
from pathlib import Path
from typing import Any

import hydra
import optuna
from omegaconf import DictConfig
from omegaconf import OmegaConf

from optuna_nas._hydra import CONFIG_DIR
from optuna_nas.evaluators import TabularEvaluator

_logger = logging.getLogger(__name__)

#: The checkpoints reported when the config names none: 10, 25, 50, 100, 200, 500, ...
DEFAULT_CHECKPOINTS: tuple[int, ...] = (10, 25, 50, 100, 200, 500, 1000, 2000, 5000)


@dataclasses.dataclass(frozen=True)
class RunResult:
    """One study of one strategy.

    Args:
        strategy: The strategy's name.
        seed: The sampler's seed.
        best: The best value after each trial (``nan`` before the first complete trial).
        sampler_seconds: Seconds spent in the sampler per trial (``ask``, the suggestions and
            ``tell``), the table lookups left out.
    """

    strategy: str
    seed: int
    best: list[float]
    sampler_seconds: list[float]


def strategy_config(name: str, search_space: Any, seed: int) -> DictConfig:
    """Load ``conf/strategy/<name>.yaml`` with its ``${search_space}`` and ``${seed}`` resolved.

    Args:
        name: The strategy's option name, e.g. ``"evolution"``.
        search_space: The search space config node (with its ``_target_``).
        seed: The seed.
    """
    path = Path(CONFIG_DIR) / "strategy" / f"{name}.yaml"
    if not path.is_file():
        options = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise ValueError(f"`strategies` must name options among {options}, but got {name!r}.")

    root = OmegaConf.create({"search_space": search_space, "seed": seed})
    root = OmegaConf.merge(root, OmegaConf.load(path))
    if "sampler" not in root:
        raise ValueError(f"The strategy config {str(path)!r} needs a `sampler` node.")
    return root


def run_strategy(
    name: str,
    search_space: Any,
    table: str,
    metric: str,
    direction: str,
    n_trials: int,
    seed: int,
) -> RunResult:
    """Run one seeded study of one strategy on a table.

    Args:
        name: The strategy's option name.
        search_space: The search space config node.
        table: The benchmark CSV.
        metric: The column to optimize.
        direction: ``"maximize"`` or ``"minimize"``.
        n_trials: Trials of the study.
        seed: The sampler's seed.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    config = strategy_config(name, search_space, seed)
    sampler = hydra.utils.instantiate(config.sampler)
    space = hydra.utils.instantiate(config.search_space)
    evaluator = TabularEvaluator(table, metric=metric)
    study = optuna.create_study(direction=direction, sampler=sampler)
    better = max if direction == "maximize" else min

    best: list[float] = []
    seconds: list[float] = []
    current = math.nan
    for _ in range(n_trials):
        start = time.perf_counter()
        trial = study.ask()
        arch = space.suggest(trial)
        spent = time.perf_counter() - start

        try:
            value = evaluator(trial, arch)
        except KeyError:
            _logger.warning("The table lacks %s; the trial fails.", arch)
            value = None

        start = time.perf_counter()
        if value is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, value)
            current = value if math.isnan(current) else better(current, value)
        seconds.append(spent + time.perf_counter() - start)
        best.append(current)

    return RunResult(name, seed, best, seconds)


def checkpoints_for(n_trials: int, checkpoints: Sequence[int] | None = None) -> list[int]:
    """Return the checkpoints up to ``n_trials``, ending with ``n_trials`` itself."""
    chosen = sorted({int(c) for c in (checkpoints or DEFAULT_CHECKPOINTS) if 0 < c <= n_trials})
    if not chosen or chosen[-1] != n_trials:
        chosen.append(n_trials)
    return chosen


def summarize(
    runs: Sequence[RunResult], checkpoints: Sequence[int], optimum: float
) -> dict[str, Any]:
    """Return the ``results.json`` document of a set of runs."""
    strategies: dict[str, Any] = {}
    for name in dict.fromkeys(r.strategy for r in runs):
        own = [r for r in runs if r.strategy == name]
        summary: dict[str, Any] = {"checkpoints": {}}
        for checkpoint in checkpoints:
            values = [
                r.best[checkpoint - 1] for r in own if not math.isnan(r.best[checkpoint - 1])
            ]
            summary["checkpoints"][str(checkpoint)] = {
                "mean": statistics.fmean(values) if values else math.nan,
                "std": statistics.pstdev(values) if len(values) > 1 else 0.0,
            }
        summary["seconds_per_trial"] = statistics.fmean(s for r in own for s in r.sampler_seconds)
        # The overhead at the end of the studies, where history-based samplers are slowest.
        summary["seconds_per_last_trial"] = statistics.fmean(
            s for r in own for s in r.sampler_seconds[-max(1, len(r.sampler_seconds) // 10) :]
        )
        strategies[name] = summary

    n_seeds = len({r.seed for r in runs})
    return {"optimum": optimum, "n_seeds": n_seeds, "strategies": strategies}


def markdown_table(results: dict[str, Any]) -> str:
    """Format ``results.json`` as a markdown table, one row per strategy."""
    first = next(iter(results["strategies"].values()))
    checkpoints = list(first["checkpoints"])
    header = ["strategy", *(f"@{c}" for c in checkpoints), "s/trial", "s/trial (last 10%)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, summary in results["strategies"].items():
        cells = [name]
        for checkpoint in checkpoints:
            stats = summary["checkpoints"][checkpoint]
            cells.append(f"{stats['mean']:.2f} ± {stats['std']:.2f}")
        cells.append(f"{summary['seconds_per_trial']:.4f}")
        cells.append(f"{summary['seconds_per_last_trial']:.4f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append(
        f"\nOptimum of the table: {results['optimum']:.2f}; mean ± std over "
        f"{results['n_seeds']} seeds of the best value after each number of trials; "
        "s/trial: seconds in the sampler per trial (ask, suggestions, tell)."
    )
    return "\n".join(lines)


def plot_curves(runs: Sequence[RunResult], optimum: float, path: str | os.PathLike[str]) -> None:
    """Write a PNG of each strategy's mean best-so-far curve with its interquartile band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    figure, axes = plt.subplots(figsize=(7, 4.5))
    lows = []
    for name in dict.fromkeys(r.strategy for r in runs):
        curves = np.array([r.best for r in runs if r.strategy == name], dtype=float)
        steps = np.arange(1, curves.shape[1] + 1)
        mean = np.nanmean(curves, axis=0)
        low, high = np.nanpercentile(curves, [25, 75], axis=0)

        axes.plot(steps, mean, label=name)
        axes.fill_between(steps, low, high, alpha=0.2)
        lows.append(float(low[min(9, curves.shape[1] - 1)]))

    axes.axhline(optimum, color="black", linestyle="--", linewidth=1, label="optimum")
    axes.set_xscale("log")
    bottom = min(lows) if lows else optimum
    if math.isfinite(bottom) and bottom != optimum:
        margin = 0.05 * abs(optimum - bottom)
        axes.set_ylim(min(bottom, optimum) - margin, max(bottom, optimum) + margin)
    axes.set_xlabel("trials")
    axes.set_ylabel("best value so far (mean, 25-75% band)")
    axes.legend()
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def run_benchmark(config: DictConfig, output_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Run every (strategy, seed) pair of ``config`` and write ``results.json`` and the PNG.

    Args:
        config: The ``benchmark`` config.
        output_dir: Where to write the results.

    Returns:
        The ``results.json`` document.
    """
    if config.table in (None, "???"):
        raise ValueError("`table` must name a benchmark CSV, but got none.")
    if int(config.n_trials) < 1:
        raise ValueError(f"`n_trials` must be at least 1, but got {config.n_trials}.")
    if int(config.n_seeds) < 1:
        raise ValueError(f"`n_seeds` must be at least 1, but got {config.n_seeds}.")
    if config.direction not in ("maximize", "minimize"):
        raise ValueError(
            f"`direction` must be 'maximize' or 'minimize', but got {config.direction!r}."
        )

    table = os.path.abspath(str(config.table))
    evaluator = TabularEvaluator(table, metric=config.metric)
    values = evaluator.table.values()
    optimum = max(values) if config.direction == "maximize" else min(values)
    search_space = OmegaConf.to_container(config.search_space, resolve=True)
    strategies = list(config.strategies)
    for name in strategies:
        strategy_config(name, search_space, 0)

    jobs = [
        (name, search_space, table, config.metric, config.direction, config.n_trials, seed)
        for name in strategies
        for seed in range(config.first_seed, config.first_seed + config.n_seeds)
    ]
    runs = _run_all(jobs, int(config.n_jobs))

    results = summarize(runs, checkpoints_for(config.n_trials, config.checkpoints), optimum)
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    if config.plot:
        plot_curves(runs, optimum, output / "curves.png")
    return results


def _run_all(jobs: list[tuple[Any, ...]], n_jobs: int) -> list[RunResult]:
    runs = []
    if n_jobs == 1:
        for job in jobs:
            runs.append(run_strategy(*job))
            _logger.info("%s seed %d done.", job[0], job[-1])
        return runs

    workers = n_jobs if n_jobs > 0 else os.cpu_count() or 1
    # Each worker gets its share of the cores: several processes each running torch's
    # default thread pool on all of them oversubscribe the machine several times over.
    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_limit_threads, initargs=(threads,)
    ) as pool:
        futures = {pool.submit(run_strategy, *job): job for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            _logger.info("%s seed %d done.", job[0], job[-1])
    return [future.result() for future in futures]


def _limit_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="benchmark")
def main(config: DictConfig) -> None:
    """The ``optuna-nas-benchmark`` command (see ``conf/benchmark.yaml``)."""
    from hydra.core.hydra_config import HydraConfig

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    output_dir = HydraConfig.get().runtime.output_dir

    start = time.perf_counter()
    results = run_benchmark(config, output_dir)

    print(markdown_table(results))
    print(f"\nResults in {output_dir} ({time.perf_counter() - start:.0f} s).")


if __name__ == "__main__":
    main()
