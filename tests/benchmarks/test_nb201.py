from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
from hydra import compose
from hydra import initialize_config_dir

from optuna_nas._hydra import CONFIG_DIR
from optuna_nas.benchmarks import markdown_table
from optuna_nas.benchmarks import run_benchmark
from optuna_nas.benchmarks._nb201 import checkpoints_for
from optuna_nas.spaces import NASBench201Space

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic NAS-Bench-201 table: convolutions on the cell's paths score."""
    space = NASBench201Space()
    path = tmp_path_factory.mktemp("table") / "synthetic.csv"
    weights = {"nor_conv_3x3": 3, "nor_conv_1x1": 2, "skip_connect": 1, "avg_pool_3x3": 0}
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["index", "arch", "test_accuracy", "error"])
        for index, arch in enumerate(space):
            score = sum(sum(weights[op] for op in p) for p in space.paths(arch))
            writer.writerow([index, arch.string, score, 100 - score])
    return path


def _config(table: Path, *overrides: str):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="benchmark", overrides=[f"table={table}", *overrides])


def test_checkpoints_end_with_the_trial_count() -> None:
    assert checkpoints_for(60) == [10, 25, 50, 60]
    assert checkpoints_for(100) == [10, 25, 50, 100]
    assert checkpoints_for(7, [25]) == [7]


def test_benchmark_writes_results_and_plot(table: Path, tmp_path: Path) -> None:
    config = _config(
        table, "strategies=[random,evolution]", "n_trials=30", "n_seeds=3", "checkpoints=[10,25]"
    )

    results = run_benchmark(config, tmp_path)

    written = json.loads((tmp_path / "results.json").read_text())
    assert written == results
    assert results["optimum"] == 24.0 and results["n_seeds"] == 3
    assert list(results["strategies"]) == ["random", "evolution"]
    for summary in results["strategies"].values():
        assert list(summary["checkpoints"]) == ["10", "25", "30"]
        means = [summary["checkpoints"][c]["mean"] for c in ("10", "25", "30")]
        assert means == sorted(means) and means[-1] <= 24.0
        assert summary["seconds_per_trial"] > 0 and summary["seconds_per_last_trial"] > 0
    assert (tmp_path / "curves.png").stat().st_size > 1000

    lines = markdown_table(results).splitlines()
    assert lines[0] == "| strategy | @10 | @25 | @30 | s/trial | s/trial (last 10%) |"
    assert lines[2].startswith("| random | ")


def test_benchmark_minimizes_another_column(table: Path, tmp_path: Path) -> None:
    config = _config(
        table,
        "metric=error",
        "direction=minimize",
        "strategies=[tpe]",
        "n_trials=12",
        "n_seeds=2",
        "plot=false",
    )

    results = run_benchmark(config, tmp_path)

    assert results["optimum"] == 76.0
    assert results["strategies"]["tpe"]["checkpoints"]["12"]["mean"] >= 76.0
    assert not (tmp_path / "curves.png").exists()


def test_worker_processes_give_the_figures_of_one_process(table: Path, tmp_path: Path) -> None:
    overrides = ["strategies=[evolution]", "n_trials=12", "n_seeds=3", "plot=false"]

    alone = run_benchmark(_config(table, *overrides), tmp_path / "alone")
    pooled = run_benchmark(_config(table, *overrides, "n_jobs=2"), tmp_path / "pooled")

    figures = [run["strategies"]["evolution"]["checkpoints"] for run in (alone, pooled)]
    assert figures[0] == figures[1]


def test_unknown_strategy_is_refused(table: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="`strategies` must name options among"):
        run_benchmark(_config(table, "strategies=[annealing]"), tmp_path)


def test_command_line(
    table: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from optuna_nas.benchmarks._nb201 import main

    arguments = [
        f"table={table}",
        "strategies=[random]",
        "n_trials=10",
        "n_seeds=2",
        f"hydra.run.dir={tmp_path}",
        "hydra/job_logging=none",
        "hydra/hydra_logging=none",
    ]
    monkeypatch.setattr(sys, "argv", ["optuna-nas-benchmark", *arguments])

    main()

    assert "| random | " in capsys.readouterr().out
    assert json.loads((tmp_path / "results.json").read_text())["n_seeds"] == 2


def test_real_table_runs(tmp_path: Path) -> None:
    real = SHARED / "benchmarks" / "nb201_cifar10.csv"
    if not real.is_file():
        pytest.skip("The shared NAS-Bench-201 table is absent.")

    config = _config(real, "strategies=[evolution]", "n_trials=15", "n_seeds=2", "plot=false")
    results = run_benchmark(config, tmp_path)

    assert results["optimum"] == pytest.approx(94.37, abs=0.01)
    assert 80.0 < results["strategies"]["evolution"]["checkpoints"]["15"]["mean"] <= 94.38
