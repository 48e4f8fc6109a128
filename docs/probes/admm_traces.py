"""Summarise the ADMM convergence traces stored in result files (quoted in docs/admm.md).

For each run: iterations done, the true-forward train / val accuracy at the first evaluation
and at the best one, the readout and spike residuals at the first and last iteration, the
dynamics residual at the end, wall time and the process's peak memory, with the method version.

    python docs/probes/admm_traces.py [leaderboard/results/admm/*.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(paths: list[Path]) -> None:
    print(
        "| task | version | seed | iterations | first eval (it, train, val) | best val (it) "
        "| readout residual first -> last "
        "| spike residual first -> last | dynamics residual (end) | train s | peak MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for path in paths:
        doc = json.loads(path.read_text())
        for run in doc["runs"]:
            trace = run["fit_info"]["trace"]
            evals = [e for e in trace if "val_accuracy" in e]
            best = max(evals, key=lambda e: e["val_accuracy"])  # earliest of the best
            first = evals[0]
            print(
                f"| {doc['task']['id']} | v{doc['method']['version']} | {run['seed']} "
                f"| {len(trace)} "
                f"| {first['iteration']}, {100 * first['train_accuracy']:.1f}, "
                f"{100 * first['val_accuracy']:.1f} "
                f"| {100 * best['val_accuracy']:.1f} ({best['iteration']}) "
                f"| {trace[0]['readout_residual']:.3f} -> {trace[-1]['readout_residual']:.3f} "
                f"| {trace[0]['spike_residual']:.3f} -> {trace[-1]['spike_residual']:.3f} "
                f"| {trace[-1]['dynamics_residual']:.1e} | {run['train_seconds']:.0f} "
                f"| {run['fit_info']['process_peak_rss_mb']:.0f} |"
            )


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]] or sorted(Path("leaderboard/results/admm").glob("*.json")))
