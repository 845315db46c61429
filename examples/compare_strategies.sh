#!/usr/bin/env bash
# Compare Optuna's random and TPE samplers over three seeds with a Hydra multirun, then
# print the best accuracy of each strategy (mean and standard deviation over seeds).
#
# With a NAS-Bench-201 table the sweep takes seconds:
#   bash examples/compare_strategies.sh evaluator=tabular evaluator.table=PATH/nb201_cifar10.csv
# Without arguments it trains real networks on digits (a few minutes).
set -euo pipefail
sweep_dir="multirun/compare-$(date +%Y%m%d-%H%M%S)"
optuna-nas --multirun strategy=random,tpe seed=0,1,2 study.n_trials=20 \
    hydra.sweep.dir="$sweep_dir" "$@"
python "$(dirname "$0")/collect_multirun.py" "$sweep_dir"
