"""The hinge linear programme through HiGHS (scipy.optimize.linprog), a simplex-grade LP solver.

Same LP and same certificate as the interior point of interior_point.py:

    min  a^T xi + rho 1^T (p + q)   s.t.  xi + Y D (p - q) >= 1,   xi, p, q >= 0

The inequality multipliers HiGHS returns are recon's hinge dual lam; the caller certifies
(w, lam) with the explicit dual-feasible construction, so nothing is taken on trust.  HiGHS
ends at a basic solution, which is what certifies the gap to 1e-10 where our interior point
and crossover stall at 1e-6..1e-3 (docs/reproduction.md).  Feasibility tolerances are
tightened from HiGHS's 1e-7 because rho = beta_reg / sqrt(P_last) can be as small as 1e-5.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import sparse
from scipy.optimize import linprog

from snnbench.errors import SnnbenchError

TOLERANCES = {"dual_feasibility_tolerance": 1e-10, "primal_feasibility_tolerance": 1e-10}


def hinge_lp_highs(
    d: torch.Tensor, y: torch.Tensor, a: torch.Tensor, rho: float
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """w (P,), lam (n,), simplex iterations for one hinge column; y in {-1, +1} (n,)."""
    n, p_dim = d.shape
    yd = sparse.csr_matrix((y[:, None] * d).numpy())
    cost = np.concatenate([a.numpy(), np.full(2 * p_dim, rho)])
    constraints = sparse.hstack([-sparse.eye(n, format="csr"), -yd, yd], format="csr")
    result = linprog(
        cost,
        A_ub=constraints,
        b_ub=-np.ones(n),
        bounds=(0, None),
        method="highs",
        options=TOLERANCES,
    )
    if result.status != 0:
        raise SnnbenchError(f"HiGHS could not solve the hinge LP: {result.message}")
    x = torch.from_numpy(result.x)
    w = x[n : n + p_dim] - x[n + p_dim :]
    return w, torch.from_numpy(-result.ineqlin.marginals), int(result.nit)
