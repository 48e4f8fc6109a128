"""What one seed of each method costs on a task at its paper preset, from measured units.

The full sequential-MNIST track (55000 training sequences) is where a seed can take hours on
2 cores, and where the leaderboard leaves a cell empty rather than shrink a preset: this is
the measurement behind such a decision (docs/reproduction.md).  Each method fits its first
grid point once with its round count (`epochs`, `sg_epochs` or `iterations`) set to 2; the
time between the two rounds' progress reports is one round (an epoch: training plus the val
pass of early stopping; the mean of both where the fit reports its start), the rest is the
fit's fixed cost (data copies, initialisation, dictionary and readout solves).  A seed's
worst case is then
    grid points x (fixed + rounds x round)
(early stopping only shortens it; recon's path warm-starts all but its first solve, so its
fixed cost is an upper bound there).  Methods without rounds (recon, reservoir) are timed
whole, one grid point.

    python benchmarks/task_cost.py --task smnist-t4 [--methods sg,recon] [--threads N] [--preset P]

Needs the task's data (SNNBENCH_DATA_DIR for the full track).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch

from snnbench.methods import available_methods, get_method
from snnbench.tasks import get_task
from snnbench.testing import fit_data

ROUND_KEYS = ("epochs", "sg_epochs", "iterations")


def cost(method_name: str, data, task, preset: str = "paper") -> dict:
    """Measured round and fixed seconds of one fit, and the preset's worst case per seed."""
    method = get_method(method_name)
    config = method.config(preset, task.info)
    candidate = config.candidates()[0]
    key = next((k for k in ROUND_KEYS if k in candidate), None)
    rounds = candidate[key] if key else 0
    reports: dict[tuple[int, int], float] = {}  # (done, total) -> when it was reported

    def report(done: int, total: int) -> None:
        reports[(done, total)] = time.perf_counter()

    start = time.perf_counter()
    method.fit(replace(data, progress=report), {**candidate, key: 2} if key else candidate, 0)
    total = time.perf_counter() - start
    # the mean of both rounds where the fit reports its start (0 of 2), else the second one
    first = reports.get((0, 2))
    per_round = 0.0
    if key:
        per_round = (reports[(2, 2)] - first) / 2 if first else reports[(2, 2)] - reports[(1, 2)]
    fixed = total - 2 * per_round if key else total
    points = len(config.candidates())
    return {
        "method": method_name,
        "round": per_round,
        "fixed": fixed,
        "rounds": rounds,
        "points": points,
        "worst_hours": points * (fixed + rounds * per_round) / 3600,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="smnist-t4")
    parser.add_argument("--methods", default=",".join(available_methods()))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--preset", default="paper")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    task = get_task(args.task)
    data = fit_data(task)
    print(f"{task.id}: {len(data.train)} training sequences, {args.threads} thread(s)")
    print("| method | one round (s) | fixed (s) | rounds | grid points | worst case per seed (h) |")
    print("|---|---|---|---|---|---|")
    for name in args.methods.split(","):
        c = cost(name, data, task, args.preset)
        round_ = f"{c['round']:.3g}" if c["rounds"] else "-"
        print(
            f"| {name} | {round_} | {c['fixed']:.3g} | {c['rounds'] or '-'} | {c['points']} "
            f"| {c['worst_hours']:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
