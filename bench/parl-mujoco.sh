#!/bin/sh
# The PARL-on-MuJoCo bench (issue 15): A-PARL and PEBBLE at two query budgets and SAC on the true
# reward (the ceiling), 5 seeds each, on parl-mujoco-cartpole-swingup. Sizes: docs/tasks/parl-mujoco.md
# ("Bench"). Every bench runs with --resume: run this script again after an interruption and only the
# missing runs are done (a run in progress when the process died is lost and redone).
#   sh bench/parl-mujoco.sh            (from the repository root, after npm run build)
set -e
TASK=parl-mujoco-cartpole-swingup
OUT=bench/results/$TASK
BILEVEL="node dist/src/cli/main.js"
# PlaNet's action repeat for cartpole (8; 125 control steps = the suite's 1000 physics steps), short
# pre-training, one SAC update per 2 environment steps: 1000 + 10 x 500 = 6000 control steps per run.
COMMON="actionRepeat=8 maxSteps=125 pretrainSteps=1000 seedSteps=500 stepsPerRound=500 stepsPerUpdate=2 sacLr=3e-4"
# 250: above every seed's initial (untrained) policy, whose mean action scores up to 234 here
TARGET=${TARGET:-trueReturn=250}
run() {
  out=$1
  seeds=$2
  shift 2
  $BILEVEL bench $TASK --steps 10 --seeds "$seeds" --target "$TARGET" --quiet --resume --out "$OUT/$out" --log "$OUT/$out/evals.jsonl" "$@"
}
# shellcheck disable=SC2086
run queries-20 5 --solvers aparl,pebble --set $COMMON pairs=2
for seeds in 3 5; do
  # shellcheck disable=SC2086
  run sac-true-reward $seeds --solvers pebble --set $COMMON reward=true pairs=1 rewardSteps=1 accuracy=0
  # shellcheck disable=SC2086
  run queries-40 $seeds --solvers aparl,pebble --set $COMMON pairs=4
done
