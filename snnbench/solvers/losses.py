"""The readout losses of recon (methods.md section 2), each with what a certified solver needs.

Problem, for a dictionary D (n x P), weights a (n,), W (P x C), Z = D W:

    primal(W) = sum_i a_i * loss(Z_i, y_i) + rho * ||W||_1

Each loss gives its value, its gradient in Z (for FISTA), a smoothness constant, and a
dual-feasible point built from that gradient: U = -grad, scaled by s = min(1, rho /
||D^T U||_max) so that ||D^T U||_max <= rho, with the matching dual objective.  For any W, the
gap primal(W) - dual(U(W)) is >= 0 by weak duality and is 0 at the optimum.

Hinge is not smooth: it is solved as a linear programme (interior_point.py); here it only
provides its value, a subgradient (for rho_max) and its dual objective.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import torch


class Loss(ABC):
    """Per-row loss of Z (n, C) against targets; a (n,) row weights."""

    name: str
    smooth: bool = True
    columns: int  # C, the number of readout columns

    @abstractmethod
    def value(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """sum_i a_i loss_i."""

    @abstractmethod
    def grad(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Gradient (a subgradient for non-smooth losses) of sum_i a_i loss_i in Z."""

    @abstractmethod
    def curvature(self) -> float:
        """Bound on the loss's second derivative per row (for the Lipschitz constant)."""

    @abstractmethod
    def dual_value(self, u: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Dual objective at U (n, C) with U = -s * grad, s in [0, 1]."""

    def hessian_weights(
        self, z: torch.Tensor, a: torch.Tensor
    ) -> dict[tuple[int, int], torch.Tensor]:
        """Row weights s of the nonzero Hessian blocks: d2/dZ_c dZ_e = diag(s[(c, e)]), c <= e.

        The barrier method's Newton system is built from them (H_ce = D^T diag(s) D).
        """
        raise TypeError(f"the {self.name} loss is not twice differentiable")


class SoftmaxCrossEntropy(Loss):
    """Multi-class: loss = logsumexp(z) - z_y; y (n,) int64 class indices."""

    name = "softmax_ce"

    def __init__(self, y: torch.Tensor, classes: int):
        self.onehot = torch.nn.functional.one_hot(y, classes).to(torch.float64)
        self.columns = classes

    def value(self, z, a):
        return (a * (torch.logsumexp(z, 1) - (z * self.onehot).sum(1))).sum()

    def grad(self, z, a):
        return a[:, None] * (torch.softmax(z, 1) - self.onehot)

    def curvature(self):
        return 0.5  # the softmax Jacobian's largest eigenvalue is at most 1/2

    def hessian_weights(self, z, a):
        p = torch.softmax(z, 1)  # per row: a (diag(p) - p p^T)
        return {
            (c, e): a * ((p[:, c] if c == e else 0) - p[:, c] * p[:, e])
            for c in range(self.columns)
            for e in range(c, self.columns)
        }

    def dual_value(self, u, a):
        # U = a (E - Z') with Z' = E - U / a on the simplex: dual = sum a_i entr(Z'_i).
        zp = (self.onehot - u / a[:, None]).clamp_min(0)
        return -(a[:, None] * torch.special.xlogy(zp, zp)).sum()


class Squared(Loss):
    """loss = ||z - y||^2 per row; y (n, C) real targets."""

    name = "squared"

    def __init__(self, y: torch.Tensor):
        self.y = y.to(torch.float64)
        self.columns = self.y.shape[1]

    def value(self, z, a):
        return (a[:, None] * (z - self.y) ** 2).sum()

    def grad(self, z, a):
        return 2 * a[:, None] * (z - self.y)

    def curvature(self):
        return 2.0

    def hessian_weights(self, z, a):
        return {(c, c): 2 * a for c in range(self.columns)}

    def dual_value(self, u, a):
        # conjugate of a (z - y)^2 is s y + s^2 / (4a); dual = sum u y - u^2 / (4a)
        return (u * self.y - u**2 / (4 * a[:, None])).sum()


class Hinge(Loss):
    """loss = sum_c max(0, 1 - y_c z_c); y (n, C) in {-1, +1}.

    One column is the binary hinge; C columns with y = 2 * onehot - 1 is one-vs-rest.
    """

    name = "hinge"
    smooth = False

    def __init__(self, y: torch.Tensor):
        self.y = y.to(torch.float64)
        self.columns = self.y.shape[1]

    def value(self, z, a):
        return (a[:, None] * (1 - self.y * z).clamp_min(0)).sum()

    def grad(self, z, a):
        return -a[:, None] * self.y * (self.y * z < 1).to(z.dtype)

    def curvature(self):
        return math.inf  # not smooth: never given to FISTA

    def dual_value(self, u, a):
        # dual: max sum y u  s.t.  0 <= y u <= a  (U = a y v with v in [0, 1])
        return (self.y * u).clamp(min=torch.zeros_like(u), max=a[:, None].expand_as(u)).sum()
