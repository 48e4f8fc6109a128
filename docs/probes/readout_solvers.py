"""The two readout-solver measurements quoted in README ("Known limits") and docs/reproduction.md.

1. hinge: our interior point vs HiGHS (scipy) on recon's first-last-xor-t11 readout
   (seed 0, L = 2, P_last = 4000, duplicate columns merged), at beta_reg 0.1, 0.01, 0.001:
   certified relative gap and seconds of each.
2. softmax CE: FISTA (2000 iterations, the paper preset's cap) vs scipy's L-BFGS-B on the
   split formulation W = P - Q, P, Q >= 0, on add-b3's sum-digit readout (seed 0,
   beta_reg 0.001): primal objective and certified relative gap of each.

    OMP_NUM_THREADS=1 python docs/probes/readout_solvers.py [hinge|ce]
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np
import scipy.optimize
import torch

from snnbench.methods import get_method
from snnbench.methods.base import FitData
from snnbench.methods.recon import (
    dictionary,
    distinct_columns,
    head_targets,
    make_loss,
    row_weights,
)
from snnbench.solvers.l1_problem import L1Problem
from snnbench.tasks import get_task


def readout_problem(task_id: str, overrides: dict, loss_name: str, dedupe: bool) -> tuple[L1Problem, int]:
    task = get_task(task_id)
    splits = task.load()
    method = get_method("recon")
    config = {**method.config("paper", task).settings, **overrides}
    net = method.witnesses(FitData(task, splits["train"], splits["val"]), config, 0)
    d = dictionary(net, splits["train"])
    if dedupe:
        d = d[:, distinct_columns(d)]
    _, classes, labels = head_targets(task, splits["train"])[0]
    loss, _ = make_loss(loss_name, labels, classes)
    return L1Problem(d, loss, row_weights(task, splits["train"], config.get("row_weights", "uniform"))), config["p_last"]


def hinge() -> None:
    problem, p_last = readout_problem("first-last-xor-t11", {"depth": 2, "p_last": 4000}, "hinge", dedupe=True)
    for beta_reg in (0.1, 0.01, 0.001):
        rho = beta_reg / math.sqrt(p_last)
        for lp in ("interior-point", "highs"):
            r = problem.solve(rho, tol=1e-6, lp=lp)
            print(f"beta_reg {beta_reg}: {lp:14s} primal {r.primal:.8f} rel gap {r.rel_gap:.1e} {r.seconds:.1f} s")


def cross_entropy() -> None:
    problem, p_last = readout_problem("add-b3", {}, "softmax_ce", dedupe=False)
    rho, (n_cols, p_dim) = 0.001 / math.sqrt(p_last), (problem.n_cols, problem.d.shape[1])
    fista = problem.solve(rho, tol=1e-6, max_iter=2000)
    print(f"FISTA 2000 it: primal {fista.primal:.7f} rel gap {fista.rel_gap:.3f} {fista.seconds:.0f} s")

    def value_and_grad(v: np.ndarray) -> tuple[float, np.ndarray]:
        pq = torch.from_numpy(v).view(2, p_dim, n_cols)
        z = problem.d @ (pq[0] - pq[1])
        g = problem.d.T @ problem.loss.grad(z, problem.a)
        return float(problem.loss.value(z, problem.a)) + rho * float(pq.sum()), torch.stack([g + rho, rho - g]).reshape(-1).numpy()

    for iterations in (2000, 5000):
        start = time.perf_counter()
        res = scipy.optimize.minimize(value_and_grad, np.zeros(2 * p_dim * n_cols), jac=True, method="L-BFGS-B",
                                      bounds=[(0, None)] * (2 * p_dim * n_cols),
                                      options={"maxiter": iterations, "maxfun": 2 * iterations, "ftol": 0, "gtol": 0, "maxcor": 30})
        pq = torch.from_numpy(res.x).view(2, p_dim, n_cols)
        primal, dual = problem.certificate(pq[0] - pq[1], rho)
        print(f"L-BFGS-B {iterations} it: primal {primal:.7f} rel gap {(primal - dual) / primal:.3f} "
              f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    torch.set_num_threads(1)
    {"hinge": hinge, "ce": cross_entropy}[sys.argv[1] if len(sys.argv) > 1 else "hinge"]()
