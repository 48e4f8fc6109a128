#!/usr/bin/env bash
# The paper-preset results of every method x task, 3 seeds, into leaderboard/results/:
# the recon paper's table (issue 3), then admm and the two reference lines (issue 5).  Resumable: rerun it and finished seeds are skipped.  Cheapest runs
# first.  Logs go to leaderboard/logs/ (not committed).
set -uo pipefail
cd "$(dirname "$0")/.."
SNNBENCH=${SNNBENCH:-.venv/bin/snnbench}
OUT=${OUT:-leaderboard/results}  # another folder to stage a re-run without touching the committed files
mkdir -p leaderboard/logs
run() {  # method task
  echo "$(date -u +%FT%TZ) start $1 $2"
  "$SNNBENCH" evaluate --method "$1" --task "$2" --seeds 0,1,2 --preset paper --out "$OUT" \
    > "leaderboard/logs/$1--$2.log" 2>&1
  echo "$(date -u +%FT%TZ) end $1 $2 rc=$?"
}
XOR="first-last-xor-t6 first-last-xor-t8 first-last-xor-t11 first-last-xor-t14"
ADD="add-b2 add-b3 add-b5"
# Headline task first for every method, then the rest of XOR, then the mini MNIST track, then
# the (hours-long) addition runs.
for t in $XOR smnist-mini-t4 $ADD; do run recon "$t"; done
for m in sg-recon recon-sg; do run "$m" first-last-xor-t8; done
for m in sg sg-recon recon-sg; do for t in $XOR; do run "$m" "$t"; done; done
for m in sg sg-recon recon-sg; do run "$m" smnist-mini-t4; done
for m in sg sg-recon recon-sg; do for t in $ADD; do run "$m" "$t"; done; done
for m in reservoir gru admm; do for t in $XOR smnist-mini-t4 $ADD; do run "$m" "$t"; done; done
