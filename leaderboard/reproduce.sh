#!/usr/bin/env bash
# The paper-preset reproduction of issue 3: every method x task, 3 seeds, into
# leaderboard/results/.  Resumable: rerun it and finished seeds are skipped.  Cheapest runs
# first.  Logs go to leaderboard/logs/ (not committed).
set -uo pipefail
cd "$(dirname "$0")/.."
SNNBENCH=${SNNBENCH:-.venv/bin/snnbench}
mkdir -p leaderboard/logs
run() {  # method task
  echo "$(date -u +%FT%TZ) start $1 $2"
  "$SNNBENCH" evaluate --method "$1" --task "$2" --seeds 0,1,2 --preset paper --out leaderboard/results \
    > "leaderboard/logs/$1--$2.log" 2>&1
  echo "$(date -u +%FT%TZ) end $1 $2 rc=$?"
}
XOR="first-last-xor-t6 first-last-xor-t8 first-last-xor-t11 first-last-xor-t14"
ADD="add-b2 add-b3 add-b5"
for t in $XOR smnist-mini-t4 $ADD; do run recon "$t"; done
for t in $ADD smnist-mini-t4; do run sg "$t"; done
for t in $XOR $ADD smnist-mini-t4; do run sg-recon "$t"; done
for t in $XOR $ADD smnist-mini-t4; do run recon-sg "$t"; done
for t in $XOR; do run sg "$t"; done
