#!/bin/sh
# The real-task sweep behind docs/results/index.html: every solver a task's capabilities allow, seeds
# 0..SEEDS-1, each run stopped after BUDGET solver-seconds (or its tuned / the task's step count, whichever
# comes first), into bench/results/tasks/<task>/sweep. Resumable: rerun the same command after a kill.
#   TASKS="hyperclean-mnist fewshot-digits" SEEDS=5 BUDGET=12 sh bench/real-tasks.sh
set -eu
SEEDS=${SEEDS:-5}
BUDGET=${BUDGET:-12}
UNCONSTRAINED=itd,aid-cg,aid-neumann,bome,penalty,bamm,bda,soba,stocbio,f2sa,borep,fo,ufo,lvhba,bvfsm
TASKS=${TASKS:-"hyperclean-mnist hyperclean-fashion hyperclean-imdb-rnn fewshot-digits hyperrep-digits hpo-l2-imdb svm-hpo"}
for t in $TASKS; do
  solvers=$UNCONSTRAINED
  every=""
  case $t in
    svm-hpo) solvers=lvhba ;;   # coupled constraints g(x, y) <= 0: only constraint-capable solvers
    # an evaluation there is 500 held-out episodes (seconds): evaluate a quarter of the step cap apart
    fewshot-digits) every="--eval-every 75" ;;
    hyperrep-digits) every="--eval-every 50" ;;
  esac
  # shellcheck disable=SC2086
  node dist/src/cli/main.js bench "$t" --solvers "$solvers" --seeds "$SEEDS" --time-limit "$BUDGET" $every \
    --quiet --resume --out "bench/results/tasks/$t/sweep"
done
