"""Summarise the ``summary.json`` files of a Hydra multirun, one row per strategy.

Run: ``python examples/collect_multirun.py multirun/DATE/TIME``.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path


def main(sweep_dir: str) -> None:
    best: dict[str, list[float]] = defaultdict(list)
    for path in sorted(Path(sweep_dir).glob("*/summary.json")):
        summary = json.loads(path.read_text())
        # Study names are nas-<strategy>-<evaluator>-seed<seed>.
        strategy = summary["study_name"].split("-")[1]
        if "best_value" in summary:
            best[strategy].append(summary["best_value"])

    if not best:
        sys.exit(f"No summary.json with a best value under {sweep_dir!r}.")
    print("| strategy | seeds | best value (mean) | std |\n|---|---|---|---|")
    for strategy, values in sorted(best.items()):
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        print(f"| {strategy} | {len(values)} | {statistics.mean(values):.3f} | {spread:.3f} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "multirun")
