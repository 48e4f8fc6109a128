"""The job layer: a fixed quick grid run serially and with `--jobs 2`, in one run.

Grid: recon x add-b2, add-b3, add-b5 x seeds 0-3 (12 CPU-bound jobs of 12-20 s), quick
preset, one thread per job in both runs (the numbers are the same, bit for bit, whatever the
number of jobs; tests/test_jobs.py).  Jobs of about that size are what the job layer is for;
on a grid of one-second jobs the fixed start-up (Python, torch, every input checked: about
3.5 s, paid by both runs) bounds any speed-up, which `--methods recon,sg --tasks
first-last-xor-t6,add-b2 --seeds 0,1` shows (README).
Prints each run's wall time, the speed-up of --jobs 2 over serial (target 1.8x on 2 cores),
and the time the job layer adds per job (target under 1 s): for --jobs 2, each job's wall
time in its worker (OUT/logs/jobs.jsonl) minus its own train and eval seconds (data, checks,
writing its record); for serial, the run's wall time minus the jobs' own seconds, per job.
What is left of --jobs 2's wall time x 2 is starting the workers and the tail where one
worker waits for the other's last job; it is printed too.

    python benchmarks/grid.py [--methods recon] [--tasks add-b2,add-b3,add-b5] [--seeds 0,1,2,3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(out: Path, jobs: int, methods: str, tasks: str, seeds: str):
    """(wall seconds, the jobs' own seconds, number of jobs, each job's wall seconds in its
    worker (--jobs > 1 only)) of one evaluate call."""
    command = [
        sys.executable,
        "-m",
        "snnbench.cli",
        "evaluate",
        "--method",
        methods,
        "--task",
        tasks,
        "--seeds",
        seeds,
        "--preset",
        "quick",
        "--out",
        str(out),
        "--jobs",
        str(jobs),
        "--threads",
        "1",
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    wall = time.perf_counter() - start
    records = [json.loads(p.read_text())["run"] for p in out.glob("*/*/seed-*.json")]
    own = sum(r["train_seconds"] + r["eval_seconds"] for r in records)
    log = out / "logs" / "jobs.jsonl"
    in_workers = (
        [json.loads(line)["wall_seconds"] for line in log.read_text().splitlines()]
        if log.exists()
        else []
    )
    return wall, own, len(records), in_workers


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="recon")
    parser.add_argument("--tasks", default="add-b2,add-b3,add-b5")
    parser.add_argument("--seeds", default="0,1,2,3")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        rows = {
            jobs: run(Path(tmp) / f"jobs-{jobs}", jobs, args.methods, args.tasks, args.seeds)
            for jobs in (1, 2)
        }
    print("| run | wall s | jobs' own s | job layer s per job | workers' start-up + idle tail s |")
    print("|---|---|---|---|---|")
    for jobs, (wall, own, n, in_workers) in rows.items():
        if in_workers:
            layer = (sum(in_workers) - own) / n
            rest = f"{(wall * jobs - sum(in_workers)) / jobs:.1f} per worker"
        else:
            layer, rest = (wall - own) / n, "-"
        print(f"| --jobs {jobs} | {wall:.1f} | {own:.1f} | {layer:.2f} | {rest} |")
    print(f"\nspeed-up of --jobs 2 over serial: {rows[1][0] / rows[2][0]:.2f}x")


if __name__ == "__main__":
    main()
