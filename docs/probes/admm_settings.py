"""ADMM beyond its published settings, on val only: for each value of one config key (e.g. the
step penalty `penalty`, methods.md's beta, or the hidden weights' `init_gain`), seed 0, the
true forward pass's train and val accuracy and the spike residual every 5 iterations, and the
spike rates of the initial random network. Quoted in docs/admm.md.

    OMP_NUM_THREADS=1 python docs/probes/admm_settings.py TASK KEY=V1,V2,... ITERATIONS
    e.g.  python docs/probes/admm_settings.py smnist-mini-t4 penalty=1,10,100 20
"""

from __future__ import annotations

import sys

import torch

from snnbench.methods import get_method
from snnbench.methods.admm import ADMMRun
from snnbench.methods.base import FitData
from snnbench.tasks import get_task


def main(task_id: str, key: str, values: list[float], iterations: int) -> None:
    task = get_task(task_id)
    splits = task.load()
    settings = get_method("admm").config("paper", task).settings
    for value in values:
        run = ADMMRun(
            FitData(task, splits["train"], splits["val"]),
            {**settings, key: value, "iterations": iterations},
            seed=0,
        )
        rates = ", ".join(f"{100 * float(a.float().mean()):.2f}" for a in run.a)
        print(f"{key} {value:g}: initial spike rate per hidden layer {rates} %", flush=True)
        run.train()
        for entry in (e for e in run.trace if "val_accuracy" in e):
            print(
                f"{key} {value:g} iteration {entry['iteration']}: "
                f"train {100 * entry['train_accuracy']:.1f} "
                f"val {100 * entry['val_accuracy']:.1f} "
                f"spike residual {entry['spike_residual']:.3f}",
                flush=True,
            )


if __name__ == "__main__":
    torch.set_num_threads(1)
    key, values = sys.argv[2].split("=")
    main(sys.argv[1], key, [float(v) for v in values.split(",")], int(sys.argv[3]))
