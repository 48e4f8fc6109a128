"""The same readout problems through cvxpy: the reference for our solvers (`--set solver=cvxpy`).

Clarabel first, SCS if Clarabel fails.  The solution is certified with our own dual-feasible
construction, so both solvers' gaps mean the same thing.
"""

from __future__ import annotations

import time

import cvxpy as cp
import torch

from snnbench.solvers.l1_problem import L1Problem, SolveResult


def cvxpy_problem(problem: L1Problem, rho: float) -> tuple[cp.Problem, cp.Variable]:
    """The problem in cvxpy; hinge with explicit slacks, so that its LP dual is available."""
    d, a, loss = problem.d.numpy(), problem.a.numpy(), problem.loss
    w = cp.Variable((d.shape[1], loss.columns))
    z = d @ w
    constraints = []
    if loss.name == "softmax_ce":
        data = cp.log_sum_exp(z, axis=1) - cp.sum(cp.multiply(loss.onehot.numpy(), z), axis=1)
        objective = cp.sum(cp.multiply(a, data))
    elif loss.name == "squared":
        objective = cp.sum(cp.multiply(a[:, None], cp.square(z - loss.y.numpy())))
    else:
        xi = cp.Variable((d.shape[0], loss.columns), nonneg=True)
        constraints = [xi >= 1 - cp.multiply(loss.y.numpy(), z)]  # its dual is lam = a * v
        objective = cp.sum(cp.multiply(a[:, None], xi))
    return cp.Problem(cp.Minimize(objective + rho * cp.norm1(w)), constraints), w


def solve_cvxpy(
    problem: L1Problem, rho: float, solvers: tuple[str, ...] = ("CLARABEL", "SCS"), **options
) -> SolveResult:
    start = time.perf_counter()
    prob, w = cvxpy_problem(problem, rho)
    used, error = None, None
    for name in solvers:
        try:
            prob.solve(solver=name, **options)
        except cp.error.SolverError as exc:
            error = exc
            continue
        if w.value is not None:
            used = name
            break
    if used is None:
        raise RuntimeError(f"cvxpy could not solve the readout problem with {solvers}: {error}")
    weights = torch.from_numpy(w.value).to(torch.float64)
    u = None
    if prob.constraints:  # hinge: the LP dual in the loss convention U = y * lam
        u = problem.loss.y * torch.from_numpy(prob.constraints[0].dual_value).to(torch.float64)
    primal, dual = problem.certificate(weights, rho, u=u)
    gap = primal - dual
    rel = gap / max(abs(primal), 1e-12)
    return SolveResult(
        weights,
        rho,
        primal,
        dual,
        gap,
        rel,
        int(prob.solver_stats.num_iters or 0),
        time.perf_counter() - start,
        prob.status == cp.OPTIMAL,
        f"cvxpy-{used.lower()}",
    )
