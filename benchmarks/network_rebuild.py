"""What the harness's rebuild of a method's network costs (README, "The harness").

The harness never scores a method's own objects: it rebuilds a canonical network from the
returned spec and weights (snnbench/models/canonical.py), checking names, shapes, dtypes and
finiteness.  This times that rebuild on the largest network in the committed result files,
against the cost of the method handing the weights over (`Fit.of`) and of one forward pass
of the rebuilt network on 1000 sequences of the task's length (what scoring a split costs).

    python benchmarks/network_rebuild.py [--results leaderboard/results] [--repeats 20]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from snnbench.harness import checked_fit
from snnbench.methods.base import Fit
from snnbench.models.canonical import parse_spec
from snnbench.models.lif import LIFNetwork
from snnbench.tasks import TASKS


def largest(results: Path) -> tuple[dict, str, Path]:
    """(spec, task id, file) of the committed run with the most parameters."""
    best = None
    for path in sorted(results.glob("*/*.json")):
        doc = json.loads(path.read_text())
        for run in doc["runs"]:
            n = run["model"]["num_parameters"]
            if run["model"].get("spec", {}).get("kind", "lif") == "lif" and (
                best is None or n > best[0]
            ):
                best = (n, run["model"]["spec"], doc["task"]["id"], path)
    assert best is not None, f"no LIF result under {results}"
    return {"kind": "lif", **best[1]}, best[2], best[3]


def best_of(repeats: int, work) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def bench(spec: dict, task_id: str, repeats: int) -> None:
    task = TASKS[task_id]
    net = LIFNetwork(parse_spec(spec))
    net.init_hidden(torch.Generator().manual_seed(0))
    fit = Fit.of(net)
    params = sum(w.numel() for w in fit.weights.values())
    handover = best_of(repeats, lambda: Fit.of(net))
    rebuild = best_of(repeats, lambda: checked_fit(fit, task, "benchmark"))
    x = torch.rand(1000, task.steps, task.n_in)
    rebuilt = checked_fit(fit, task, "benchmark")[0]
    forward = best_of(max(1, repeats // 5), lambda: rebuilt.run(x))
    print(f"network: {task_id}, {params} parameters, spec {spec}")
    print("| step | best of runs | vs rebuild |")
    print("|---|---|---|")
    print(
        f"| Fit.of (method hands the weights over) | {1e3 * handover:.2f} ms "
        f"| {handover / rebuild:.2f}x |"
    )
    print(f"| checked_fit (harness rebuild and checks) | {1e3 * rebuild:.2f} ms | 1.00x |")
    print(f"| forward pass on 1000 sequences | {1e3 * forward:.1f} ms | {forward / rebuild:.0f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--results",
        type=Path,
        default=Path(__file__).resolve().parents[1] / "leaderboard" / "results",
    )
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    spec, task_id, path = largest(args.results)
    print(f"largest committed network: {path}")
    bench(spec, task_id, args.repeats)


if __name__ == "__main__":
    main()
