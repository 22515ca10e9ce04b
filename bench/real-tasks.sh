#!/bin/sh
# The real-task sweep behind docs/results/index.html: every solver a task's capabilities allow, seeds
# 0..SEEDS-1, each run stopped after its task's budget of solver-seconds (or its tuned / the task's step
# count, whichever comes first), into bench/results/tasks/<task>/sweep. Resumable: rerun the same command
# after a kill (finished runs are kept). BUDGET overrides every task's budget (then resume starts anew).
#   TASKS="hyperclean-mnist fewshot-digits" sh bench/real-tasks.sh
set -eu
SEEDS=${SEEDS:-5}
ALL=itd,aid-cg,aid-neumann,bome,penalty,bamm,bda,soba,stocbio,f2sa,borep,fo,ufo,lvhba,bvfsm
NO_BOREP=itd,aid-cg,aid-neumann,bome,penalty,bamm,bda,soba,stocbio,f2sa,fo,ufo,lvhba,bvfsm
TASKS=${TASKS:-"hyperclean-mnist hyperclean-fashion hyperclean-imdb-rnn fewshot-digits hyperrep-digits hpo-l2-imdb svm-hpo"}
for t in $TASKS; do
  solvers=$ALL
  budget=12
  extra=""
  case $t in
    svm-hpo) solvers=lvhba ;;   # coupled constraints g(x, y) <= 0: only constraint-capable solvers
    # innerInit (a fixed MAML-style inner loop): borep needs a warm-started lower level. An evaluation
    # there is 500 held-out episodes (seconds): evaluate a quarter of the step cap apart.
    fewshot-digits) solvers=$NO_BOREP; extra="--eval-every 75" ;;
    hyperrep-digits) solvers=$NO_BOREP; extra="--eval-every 50"; budget=8 ;;
    # An outer step through the 24-step unrolled RNN costs ~1-3 s on one thread (its first one tens of
    # seconds: compilation), so this task gets a step budget with a time cap instead of 8 s.
    hyperclean-imdb-rnn) budget=90; extra="--steps 30 --eval-every 10" ;;
  esac
  # shellcheck disable=SC2086
  node dist/src/cli/main.js bench "$t" --solvers "$solvers" --seeds "$SEEDS" --time-limit "${BUDGET:-$budget}" $extra \
    --quiet --resume --out "bench/results/tasks/$t/sweep"
done
