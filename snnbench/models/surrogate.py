"""The ATan surrogate gradient as a small torch autograd Function (snntorch's style).

Training no longer calls it: the fused layer (`lif_grad.py`) computes the same derivative
inside its compiled reverse scan.  It stays as the readable definition that the fused layer
is tested against (tests/test_lif_grad.py steps a torch loop of it, as `sg` did before).

Forward: Heaviside with H(0) = 1 (spike when u - theta >= 0, as in methods.md section 1).
Backward: alpha / 2 / (1 + (pi/2 * alpha * x)^2), the same formula and default alpha = 2 as
snntorch's `surrogate.atan` and spikingjelly's `surrogate.ATan`.
"""

from __future__ import annotations

import math

import torch


class ATanSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        grad = ctx.alpha / 2 / (1 + (math.pi / 2 * ctx.alpha * x).pow(2))
        return grad_output * grad, None


def atan_spike(x: torch.Tensor, alpha: float = 2.0) -> torch.Tensor:
    return ATanSpike.apply(x, alpha)
