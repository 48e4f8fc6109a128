"""Certified first-order solvers for L1-regularised readouts.

    minimise  sum_i a_i loss(D_i W, y_i) + rho ||W||_1          D (n x P), W (P x C)

* Smooth losses (softmax cross-entropy, squared): FISTA with backtracking (the step may grow
  again) and O'Donoghue-Candes adaptive restart, and a log-barrier interior point with exact
  Newton steps (`barrier.py`).  FISTA is cheap per iteration and needs no m x m matrix
  (m = P * C) but stalls where the loss Hessian is nearly singular (recon's add dictionaries:
  gaps of 0.2-0.3 after 2000 iterations); the barrier method certifies 1e-6 there in about 30
  Newton steps, each an n P^2 product per pair of classes.  smooth="auto" runs FISTA, and if
  it has not certified after AUTO_FISTA_ITERATIONS and m <= barrier_max_size (default
  NEWTON_MAX_SIZE), continues with the barrier method from FISTA's point.
* Hinge (binary or one-vs-rest), a linear programme: HiGHS (`highs.py`, the default; it ends at
  a basic solution and certifies ~1e-10) or our primal-dual interior point (`interior_point.py`,
  lp="interior-point"; it stalls at 1e-6..1e-3 on some sparse instances).  First-order methods
  stall on it: smoothing needs a smoothing parameter as small as the target gap, and restarted
  PDHG reached only 1e-3 to 1e-5 relative gap in 30000 iterations on 200 x 60 problems with
  non-uniform row weights.

Both are certified by a duality gap: the solver builds an explicit dual-feasible point (the
loss gradient, or the LP's dual solution, scaled so that
||D^T U||_max <= rho, see `losses.py`) and stops when (primal - dual) / primal <= tol.  The
reported gap is therefore a certificate of optimality, not an estimate.  The only expensive
operations are the products D W and D^T G, with D kept once in float64.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import torch

from snnbench.solvers.barrier import solve_barrier
from snnbench.solvers.highs import hinge_lp_highs
from snnbench.solvers.interior_point import hinge_lp
from snnbench.solvers.losses import Loss

# Largest P * C for which smooth="auto" switches to the barrier method, unless the caller
# allows more (recon's `barrier_max_size`): the m x m float64 Newton system and its Cholesky
# (m^3 / 3 flops) take ~0.1 GB and ~1 s at 4096, ~0.8 GB and ~10 s per step at 10240.
NEWTON_MAX_SIZE = 4096
AUTO_FISTA_ITERATIONS = 200  # FISTA iterations smooth="auto" tries before switching
SMOOTH_SOLVERS = ("auto", "barrier", "fista")


@dataclass
class SolveResult:
    w: torch.Tensor  # (P, C)
    rho: float
    primal: float
    dual: float
    gap: float
    rel_gap: float
    iterations: int
    seconds: float
    converged: bool
    solver: str

    def report(self) -> dict:
        """Everything but the weights, for result files."""
        out = asdict(self)
        out.pop("w")
        return out


def soft_threshold(x: torch.Tensor, tau: float) -> torch.Tensor:
    return x.sign() * (x.abs() - tau).clamp_min(0)


def spectral_norm2(m: torch.Tensor, iterations: int = 60) -> float:
    """sigma_max(m)^2 by power iteration, padded by 1% (it is approached from below)."""
    v = torch.ones(m.shape[1], dtype=m.dtype) / math.sqrt(m.shape[1])
    for _ in range(iterations):
        v = m.T @ (m @ v)
        v /= v.norm()
    return 1.01 * float((m @ v).norm() ** 2)


class L1Problem:
    """One dictionary, loss and row weighting; solved for any rho, warm-startable."""

    def __init__(self, d: torch.Tensor, loss: Loss, a: torch.Tensor | None = None):
        self.d = d.to(torch.float64)
        n = self.d.shape[0]
        self.a = (
            torch.full((n,), 1.0 / n, dtype=torch.float64) if a is None else a.to(torch.float64)
        )
        self.loss = loss
        self.n_cols = loss.columns
        self._sigma2: dict[str, float] = {}
        self._d32: torch.Tensor | None = None

    @property
    def d32(self) -> torch.Tensor:
        """D in float32 for the barrier method's Hessian products (exact for a binary D)."""
        if self._d32 is None:
            self._d32 = self.d.to(torch.float32)
        return self._d32

    def sigma2(self, weighted: bool) -> float:
        key = "weighted" if weighted else "plain"
        if key not in self._sigma2:
            self._sigma2[key] = spectral_norm2(
                self.d * self.a.sqrt()[:, None] if weighted else self.d
            )
        return self._sigma2[key]

    def rho_max(self) -> float:
        """The smallest rho for which W = 0 is optimal: ||D^T grad(0)||_max."""
        z0 = torch.zeros(self.d.shape[0], self.n_cols, dtype=torch.float64)
        return float((self.d.T @ self.loss.grad(z0, self.a)).abs().max())

    def primal(self, w: torch.Tensor, rho: float, z: torch.Tensor | None = None) -> float:
        z = self.d @ w if z is None else z
        return float(self.loss.value(z, self.a) + rho * w.abs().sum())

    def certificate(
        self,
        w: torch.Tensor,
        rho: float,
        z: torch.Tensor | None = None,
        u: torch.Tensor | None = None,
    ) -> tuple[float, float]:
        """(primal, dual) at W; the dual point is U (or -grad at W), scaled to be feasible."""
        z = self.d @ w if z is None else z
        u = -self.loss.grad(z, self.a) if u is None else u
        norm = float((self.d.T @ u).abs().max())
        if norm > rho:
            u = u * (rho / norm)
        return self.primal(w, rho, z), float(self.loss.dual_value(u, self.a))

    def barrier_fits(self, max_size: int = NEWTON_MAX_SIZE) -> bool:
        """Whether the barrier method's dense m x m Newton system is small enough to use."""
        return self.d.shape[1] * self.n_cols <= max_size

    def solve(
        self,
        rho: float,
        w0: torch.Tensor | None = None,
        tol: float = 1e-6,
        max_iter: int = 50000,
        check_every: int = 10,
        lp: str = "highs",
        smooth: str = "auto",
        newton_max_iter: int = 200,
        barrier_max_size: int = NEWTON_MAX_SIZE,
    ) -> SolveResult:
        """Smooth losses: the barrier method or FISTA (`smooth`, max_iter FISTA iterations or
        newton_max_iter Newton steps).  Hinge (an LP): HiGHS, or lp="interior-point" (ours)."""
        if smooth not in SMOOTH_SOLVERS:
            raise ValueError(f"smooth must be one of {', '.join(SMOOTH_SOLVERS)}, not {smooth!r}")
        start = time.perf_counter()
        x = (
            torch.zeros(self.d.shape[1], self.n_cols, dtype=torch.float64)
            if w0 is None
            else w0.to(torch.float64).clone()
        )
        if not self.loss.smooth:
            algorithm = lp
            x, iterations, (primal, dual) = self._hinge_lp(x, rho, tol, max_iter, lp)
        elif smooth == "barrier":
            algorithm = "barrier"
            x, iterations, (primal, dual) = solve_barrier(self, rho, x, tol, newton_max_iter)
        else:
            switch = smooth == "auto" and self.barrier_fits(barrier_max_size)
            algorithm = "fista"
            x, iterations, (primal, dual) = self._fista(
                x,
                rho,
                tol,
                min(max_iter, AUTO_FISTA_ITERATIONS) if switch else max_iter,
                check_every,
            )
            if switch and primal - dual > tol * max(abs(primal), 1e-12):
                algorithm = f"fista ({iterations} it.) + barrier"
                x, iterations, (primal, dual) = solve_barrier(self, rho, x, tol, newton_max_iter)
        gap = primal - dual
        rel = gap / max(abs(primal), 1e-12)
        return SolveResult(
            x,
            rho,
            primal,
            dual,
            gap,
            rel,
            iterations,
            time.perf_counter() - start,
            rel <= tol,
            algorithm,
        )

    def _fista(self, x, rho, tol, max_iter, check_every):
        d, loss, a = self.d, self.loss, self.a
        lipschitz = loss.curvature() * self.sigma2(weighted=True)
        step_l = lipschitz / 16  # optimistic start; backtracking raises it when needed
        zx = d @ x
        y, zy, t = x, zx, 1.0
        certificate = self.certificate(x, rho, zx)
        for k in range(1, max_iter + 1):
            fy = float(loss.value(zy, a))
            g = d.T @ loss.grad(zy, a)
            while True:
                x_new = soft_threshold(y - g / step_l, rho / step_l)
                z_new = d @ x_new
                diff = x_new - y
                bound = fy + float((g * diff).sum()) + step_l / 2 * float((diff * diff).sum())
                if float(loss.value(z_new, a)) <= bound + 1e-12 * abs(bound) or step_l >= lipschitz:
                    break
                step_l = min(2 * step_l, lipschitz)
            if float(((y - x_new) * (x_new - x)).sum()) > 0:  # adaptive restart of the momentum
                t = 1.0
            t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
            beta = (t - 1) / t_new
            y = x_new + beta * (x_new - x)
            zy = z_new + beta * (z_new - zx)
            x, zx, t = x_new, z_new, t_new
            step_l = step_l * 0.9  # let the step grow again
            if k % check_every == 0 or k == max_iter:
                certificate = self.certificate(x, rho, zx)
                if certificate[0] - certificate[1] <= tol * max(abs(certificate[0]), 1e-12):
                    return x, k, certificate
        return x, max_iter, certificate

    def _hinge_lp(self, x, rho, tol, max_iter, lp):
        """The hinge LP, one column at a time (one-vs-rest columns are independent)."""
        if lp not in ("interior-point", "highs"):
            raise ValueError(f"lp must be interior-point or highs, not {lp!r}")
        y = self.loss.y.expand(self.d.shape[0], self.n_cols)
        columns, duals, iterations = [], [], 0
        for c in range(self.n_cols):
            if lp == "highs":
                w, lam, used = hinge_lp_highs(self.d, y[:, c], self.a, rho)
            else:
                w, lam, used = hinge_lp(
                    self.d, y[:, c], self.a, rho, tol=tol / 10, max_iter=min(max_iter, 100)
                )
            columns.append(w)
            duals.append(y[:, c] * lam.clamp(min=torch.zeros_like(lam), max=self.a))
            iterations += used
        w = torch.stack(columns, 1)
        return w, iterations, self.certificate(w, rho, u=torch.stack(duals, 1))
