"""Does the witnesses' firing rate explain the published add numbers?  recon on one task and
seed with each witness variant (`standard` N(0, 1) weights, `normalized` unit-norm rows, which
fire far less), over the paper preset's beta_reg path: the witnesses' last-layer firing rate
on train and the val score of each beta_reg, scored by the harness.  Val only.  Quoted in
docs/reproduction.md.

    OMP_NUM_THREADS=1 python docs/probes/recon_witness_scale.py add-b3 standard,normalized
"""

from __future__ import annotations

import sys

import torch

from snnbench.harness import score
from snnbench.methods import get_method
from snnbench.methods.base import FitData
from snnbench.methods.recon import dictionary
from snnbench.tasks import get_task


def main(task_id: str, variants: list[str]) -> None:
    task = get_task(task_id)
    splits = task.load()
    method = get_method("recon")
    resolved = method.config("paper", task)
    data = FitData(task, splits["train"], splits["val"])
    for variant in variants:
        configs = [{**candidate, "witnesses": variant} for candidate in resolved.candidates()]
        net = method.witnesses(data, configs[0], seed=0)
        rate = float(dictionary(net, splits["train"]).float().mean())
        print(f"{variant}: last-layer feature rate on train {100 * rate:.1f} %", flush=True)
        for config, model in method.solve_path(data, net, configs):
            val = score(model, splits["val"], task, "recon").metrics[task.primary_metric]
            print(f"{variant} beta_reg {config['beta_reg']:g}: val {100 * val:.1f}", flush=True)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main(sys.argv[1], sys.argv[2].split(","))
