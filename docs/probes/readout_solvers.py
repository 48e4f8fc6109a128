"""The two readout-solver measurements quoted in README ("Known limits") and docs/reproduction.md.

1. hinge: our interior point vs HiGHS (scipy) on recon's first-last-xor-t11 readout
   (seed 0, L = 2, P_last = 4000, duplicate columns merged), at beta_reg 0.1, 0.01, 0.001:
   certified relative gap and seconds of each.
2. softmax CE: FISTA (2000 iterations, the paper preset's cap) vs scipy's L-BFGS-B on the
   split formulation W = P - Q, P, Q >= 0, on add-b3's sum-digit readout (seed 0,
   beta_reg 0.001): primal objective and certified relative gap of each.
3. newton: the same CE problem, FISTA's 2000-iteration point refined by a glmnet-style proximal
   Newton method (explicit Hessian on the working set, the L1 subproblem by coordinate
   descent, backtracking on the step): primal and certified gap after each Newton step.

    OMP_NUM_THREADS=1 python docs/probes/readout_solvers.py [hinge|ce|newton]
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


def readout_problem(
    task_id: str, overrides: dict, loss_name: str, dedupe: bool
) -> tuple[L1Problem, int]:
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
    return L1Problem(
        d, loss, row_weights(task, splits["train"], config.get("row_weights", "uniform"))
    ), config["p_last"]


def hinge() -> None:
    problem, p_last = readout_problem(
        "first-last-xor-t11", {"depth": 2, "p_last": 4000}, "hinge", dedupe=True
    )
    for beta_reg in (0.1, 0.01, 0.001):
        rho = beta_reg / math.sqrt(p_last)
        for lp in ("interior-point", "highs"):
            r = problem.solve(rho, tol=1e-6, lp=lp)
            print(
                f"beta_reg {beta_reg}: {lp:14s} primal {r.primal:.8f} "
                f"rel gap {r.rel_gap:.1e} {r.seconds:.1f} s"
            )


def cross_entropy() -> None:
    problem, p_last = readout_problem("add-b3", {}, "softmax_ce", dedupe=False)
    rho, (n_cols, p_dim) = 0.001 / math.sqrt(p_last), (problem.n_cols, problem.d.shape[1])
    fista = problem.solve(rho, tol=1e-6, max_iter=2000)
    print(
        f"FISTA 2000 it: primal {fista.primal:.7f} rel gap {fista.rel_gap:.3f} "
        f"{fista.seconds:.0f} s"
    )

    def value_and_grad(v: np.ndarray) -> tuple[float, np.ndarray]:
        pq = torch.from_numpy(v).view(2, p_dim, n_cols)
        z = problem.d @ (pq[0] - pq[1])
        g = problem.d.T @ problem.loss.grad(z, problem.a)
        return float(problem.loss.value(z, problem.a)) + rho * float(pq.sum()), torch.stack(
            [g + rho, rho - g]
        ).reshape(-1).numpy()

    for iterations in (2000, 5000):
        start = time.perf_counter()
        res = scipy.optimize.minimize(
            value_and_grad,
            np.zeros(2 * p_dim * n_cols),
            jac=True,
            method="L-BFGS-B",
            bounds=[(0, None)] * (2 * p_dim * n_cols),
            options={
                "maxiter": iterations,
                "maxfun": 2 * iterations,
                "ftol": 0,
                "gtol": 0,
                "maxcor": 30,
            },
        )
        pq = torch.from_numpy(res.x).view(2, p_dim, n_cols)
        primal, dual = problem.certificate(pq[0] - pq[1], rho)
        print(
            f"L-BFGS-B {iterations} it: primal {primal:.7f} rel gap {(primal - dual) / primal:.3f} "
            f"{time.perf_counter() - start:.0f} s"
        )


def ce_hessian(problem: L1Problem, p: torch.Tensor, idx: list[torch.Tensor]) -> torch.Tensor:
    """Hessian of the weighted softmax CE in the working-set coordinates idx (class-major)."""
    blocks = [[None] * len(idx) for _ in idx]
    for c in range(len(idx)):
        for e in range(c, len(idx)):
            weight = problem.a * ((p[:, c] if c == e else 0) - p[:, c] * p[:, e])
            blocks[c][e] = problem.d[:, idx[c]].T @ (weight[:, None] * problem.d[:, idx[e]])
            blocks[e][c] = blocks[c][e].T
    return torch.cat([torch.cat(row, 1) for row in blocks], 0)


def gather(m: torch.Tensor, idx: list[torch.Tensor]) -> np.ndarray:
    """The working-set entries of m (P x C), class-major, as ce_hessian orders them."""
    return torch.cat([m[rows, c] for c, rows in enumerate(idx)]).numpy()


def lasso_cd(h: np.ndarray, g: np.ndarray, w0: np.ndarray, rho: float, sweeps: int) -> np.ndarray:
    """argmin_v g.(v - w0) + 1/2 (v - w0)' h (v - w0) + rho |v|_1, by cyclic coordinate descent."""
    v, hd, diag = w0.copy(), np.zeros_like(w0), h.diagonal().copy()
    for _ in range(sweeps):
        largest = 0.0
        for j in np.flatnonzero(diag > 0):
            u = v[j] - (g[j] + hd[j]) / diag[j]
            change = math.copysign(max(abs(u) - rho / diag[j], 0.0), u) - v[j]
            if change:
                hd += h[j] * change
                v[j] += change
                largest = max(largest, abs(change) * math.sqrt(diag[j]))
        if largest < 1e-10:
            break
    return v


def proximal_newton() -> None:
    problem, p_last = readout_problem("add-b3", {}, "softmax_ce", dedupe=False)
    rho = 0.001 / math.sqrt(p_last)
    w = problem.solve(rho, tol=1e-6, max_iter=2000).w
    start = time.perf_counter()
    for step in range(13):
        z = problem.d @ w
        p = torch.softmax(z, 1)
        g = problem.d.T @ problem.loss.grad(z, problem.a)
        primal, dual = problem.certificate(w, rho, z)
        print(
            f"Newton step {step}: primal {primal:.7f} rel gap {(primal - dual) / primal:.3f} "
            f"nnz {int((w != 0).sum())} {time.perf_counter() - start:.0f} s",
            flush=True,
        )
        work = (w != 0) | (g.abs() > 0.5 * rho)
        idx = [torch.nonzero(work[:, c]).flatten() for c in range(w.shape[1])]
        v = lasso_cd(
            ce_hessian(problem, p, idx).numpy(), gather(g, idx), gather(w, idx), rho, sweeps=2000
        )
        delta, offset = torch.zeros_like(w), 0
        for c, rows in enumerate(idx):
            delta[rows, c] = torch.from_numpy(v[offset : offset + len(rows)]) - w[rows, c]
            offset += len(rows)
        decrease = float((g * delta).sum()) + rho * float((w + delta).abs().sum() - w.abs().sum())
        t = 1.0
        while problem.primal(w + t * delta, rho) > primal + 1e-4 * t * decrease and t > 1e-6:
            t /= 2
        w = w + t * delta


if __name__ == "__main__":
    torch.set_num_threads(1)
    {"hinge": hinge, "ce": cross_entropy, "newton": proximal_newton}[
        sys.argv[1] if len(sys.argv) > 1 else "hinge"
    ]()
