"""A primal log-barrier interior-point method for L1-regularised smooth readouts.

    min  sum_i a_i loss(D_i W, y_i) + rho 1^T U   s.t.  -U <= W <= U

with the barrier -sum log(U + W) - sum log(U - W) weighted against t times the objective, as in
Koh, Kim & Boyd, "An interior-point method for large-scale l1-regularized logistic regression"
(JMLR 2007), but with exact Newton steps: the (W, U) system reduces to one dense system in W,

    (t H + D1 - D2^2 / D1) dW = -g_W + D2 g_U / D1,

of size m = P * C, solved by Cholesky.  Why it is here: on recon's add dictionaries (strongly
correlated binary columns, rho = 4.4e-5) FISTA stops at certified gaps of 0.2-0.3 after 2000
iterations and proximal Newton's coordinate-descent subproblems never converge, because the
loss Hessian is close to singular.  The barrier's diagonal keeps every Newton system well posed,
and the method reaches a certified 1e-6 in about 30 Newton steps whatever the conditioning.

The cost per step is forming H: one D^T diag(s) D product per pair of classes, n P^2 each, done
in float32 (D is binary, so its float32 copy is exact; H is only a Newton model).  The gradient,
the objective of the line search and the certificate stay in float64, so the reported gap is as
exact as FISTA's: the same dual point (the loss gradient scaled into ||D^T U||_max <= rho).  On
the central path |D^T grad| < rho holds exactly, so that scaling costs nothing near the end.
Only sizes where the dense m x m system fits are meant for it (L1Problem uses it up to m = 4096).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from snnbench.solvers.l1_problem import L1Problem

ARMIJO = 0.01  # sufficient decrease of the barrier objective along a Newton step
GROWTH = 2.0  # t grows by this factor (or to 2m / gap) after a step of length >= 1/2


def hessian(problem: L1Problem, z: torch.Tensor) -> torch.Tensor:
    """The loss Hessian in W, class-major (index c * P + j), from the per-row Hessians in Z."""
    p, c = problem.d.shape[1], problem.n_cols
    d = problem.d32
    h = torch.zeros(c, p, c, p, dtype=torch.float64)
    for (i, k), s in problem.loss.hessian_weights(z, problem.a).items():
        block = (d.T @ (s.to(torch.float32)[:, None] * d)).to(torch.float64)
        h[i, :, k, :] = block
        h[k, :, i, :] = block.T
    return h.reshape(c * p, c * p)


def _cholesky_solve(m: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    """Solve m x = rhs for symmetric positive definite m, adding jitter if rounding breaks that
    (the float32 Hessian's rounding, ~1e-7 of its largest entry, can outweigh a small barrier
    diagonal).  The jitter only damps the Newton step; the certificate does not depend on it."""
    scale = float(m.diagonal().abs().mean()) or 1.0
    for jitter in (0.0, 1e-12, 1e-10, 1e-8, 1e-6, 1e-4, 1e-2, 1.0):
        factor, info = torch.linalg.cholesky_ex(
            m + jitter * scale * torch.eye(len(m), dtype=m.dtype) if jitter else m
        )
        if int(info) == 0:
            return torch.cholesky_solve(rhs[:, None], factor)[:, 0]
    raise FloatingPointError(
        "the barrier method's Newton system is not positive definite (non-finite data?)"
    )


def _to_vector(w: torch.Tensor) -> torch.Tensor:
    """(P, C) -> class-major vector (index c * P + j), the Hessian's order."""
    return w.T.reshape(-1)


def _to_matrix(v: torch.Tensor, p: int) -> torch.Tensor:
    return v.view(-1, p).T


def solve_barrier(
    problem: L1Problem, rho: float, w: torch.Tensor, tol: float, max_iter: int
) -> tuple[torch.Tensor, int, tuple[float, float]]:
    """W, Newton steps, (primal, dual) certificate; stops at relative gap <= tol or max_iter."""
    d, loss, a = problem.d, problem.loss, problem.a
    p, m = w.shape[0], w.numel()
    z = d @ w
    primal, dual = problem.certificate(w, rho, z)
    t = 2 * m / max(primal - dual, 1e-12 * abs(primal), 1e-300)
    u = w.abs() + 2 / (t * rho)  # the central path's U at W = 0, around the warm start

    def barrier_objective(w_: torch.Tensor, u_: torch.Tensor, z_: torch.Tensor) -> float:
        lower, upper = u_ + w_, u_ - w_
        if bool((lower <= 0).any()) or bool((upper <= 0).any()):
            return math.inf
        value = float(loss.value(z_, a)) + rho * float(u_.sum())
        return t * value - float(torch.log(lower).sum() + torch.log(upper).sum())

    for step in range(1, max_iter + 1):
        g = _to_vector(d.T @ loss.grad(z, a))
        lower, upper = _to_vector(u + w), _to_vector(u - w)
        d1 = lower**-2 + upper**-2
        d2 = lower**-2 - upper**-2
        g_w = t * g - 1 / lower + 1 / upper
        g_u = t * rho - 1 / lower - 1 / upper
        system = t * hessian(problem, z)
        system.diagonal().add_(d1 - d2**2 / d1)
        dw = _cholesky_solve(system, -g_w + d2 * g_u / d1)
        du = (-g_u - d2 * dw) / d1
        dw_m, du_m = _to_matrix(dw, p), _to_matrix(du, p)
        dz = d @ dw_m
        start, slope = barrier_objective(w, u, z), float(g_w @ dw + g_u @ du)
        size = 1.0
        while (
            barrier_objective(w + size * dw_m, u + size * du_m, z + size * dz)
            > start + ARMIJO * size * slope
        ):
            size /= 2
            if size < 1e-12:
                break
        w, u, z = w + size * dw_m, u + size * du_m, z + size * dz
        primal, dual = problem.certificate(w, rho, z)
        if primal - dual <= tol * max(abs(primal), 1e-12):
            return w, step, (primal, dual)
        if size >= 0.5:
            t = max(GROWTH * min(2 * m / max(primal - dual, 1e-300), t), t)
    return w, max_iter, (primal, dual)
