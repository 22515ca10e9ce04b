#!/bin/sh
# The PARL-on-MuJoCo bench (issue 15): A-PARL and PEBBLE at two query budgets and SAC on the true
# reward (the ceiling), 5 seeds each, on parl-mujoco-cartpole-swingup (default) or, with ENV=cheetah-run,
# parl-mujoco-cheetah-run; PART=a (queries-20) or PART=b (the ceiling and queries-40) runs one half, so
# the two halves can run side by side on the two cores. Sizes: docs/tasks/parl-mujoco.md
# ("Bench"). Every bench runs with --resume: run this script again after an interruption and only the
# missing runs are done (a run in progress when the process died is lost and redone).
#   sh bench/parl-mujoco.sh            (from the repository root, after npm run build)
set -e
ENV=${ENV:-cartpole-swingup}
PART=${PART:-ab}
TASK=parl-mujoco-$ENV
OUT=bench/results/$TASK
BILEVEL="node dist/src/cli/main.js"
# PlaNet's action repeat (cartpole 8, cheetah 4; 125 / 250 control steps = the suite's 1000 physics
# steps), short pre-training, one SAC update per 2 environment steps: 1000 + 10 x 500 = 6000 control
# steps per run.
if [ "$ENV" = cheetah-run ]; then
  REPEAT="actionRepeat=4 maxSteps=250"
  # cheetah-run: an untrained policy scores ~0-10; 50 is a first sign of running
  TARGET=${TARGET:-trueReturn=50}
else
  REPEAT="actionRepeat=8 maxSteps=125"
  # 250: above every seed's initial (untrained) policy, whose mean action scores up to 234 here
  TARGET=${TARGET:-trueReturn=250}
fi
COMMON="$REPEAT pretrainSteps=1000 seedSteps=500 stepsPerRound=500 stepsPerUpdate=2 sacLr=3e-4"
run() {
  out=$1
  seeds=$2
  shift 2
  $BILEVEL bench $TASK --steps 10 --seeds "$seeds" --target "$TARGET" --quiet --resume --out "$OUT/$out" --log "$OUT/$out/evals.jsonl" "$@"
}
case $PART in *a*)
  # shellcheck disable=SC2086
  run queries-20 5 --solvers aparl,pebble --set $COMMON pairs=2 ;;
esac
case $PART in *b*) ;; *) exit 0 ;; esac
for seeds in 3 5; do
  # shellcheck disable=SC2086
  run sac-true-reward $seeds --solvers pebble --set $COMMON reward=true pairs=1 rewardSteps=1 accuracy=0
  # shellcheck disable=SC2086
  run queries-40 $seeds --solvers aparl,pebble --set $COMMON pairs=4
done
