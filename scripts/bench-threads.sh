#!/usr/bin/env bash
# The thread-budget check of the libtorch-2.x issue: ms/step of the tiny stage-1 bench with the
# default budget and with one thread, on an idle machine and with two spinning processes
# sharing the cores. Usage: scripts/bench-threads.sh [1.13|2.6] [ROUNDS]
# (2.6 runs inside the Debian 13 chroot of scripts/trixie.sh; needs root.)
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
which=${1:-1.13}; rounds=${2:-3}
bench="./xformer bench stage1 --config configs/tiny.json --batch 16 --steps 10 --random-weights"
run() { # $1: env assignments ("" for the default budget)
  if [ "$which" = 2.6 ]; then "$ROOT/scripts/trixie.sh" run "env $1 $bench" 2>/dev/null
  else (cd "$ROOT" && env $1 $bench 2>/dev/null); fi | sed -n 's/.*median \([0-9.]*\) ms\/step.*/\1/p'
}
spin() { for _ in 1 2; do sh -c 'while :; do :; done' & done; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run "" >/dev/null # build, warm the page cache
for load in idle busy; do
  pids=""
  if [ "$load" = busy ]; then spin; pids=$(jobs -p); fi
  d=(); o=()
  for ((r = 0; r < rounds; r++)); do d+=("$(run "")"); o+=("$(run OMP_NUM_THREADS=1)"); done
  [ -n "$pids" ] && kill $pids 2>/dev/null; wait 2>/dev/null || true
  dm=$(printf '%s\n' "${d[@]}" | median); om=$(printf '%s\n' "${o[@]}" | median)
  printf 'libtorch %s, %s: default %s ms/step (runs: %s), one thread %s ms/step (runs: %s), ratio %s\n' \
    "$which" "$load" "$dm" "${d[*]}" "$om" "${o[*]}" "$(awk -v a="$dm" -v b="$om" 'BEGIN {printf "%.2f", a / b}')"
done
