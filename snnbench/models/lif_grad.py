"""The differentiable LIF layer, fused over all steps (surrogate-gradient training).

Written as torch operations, a layer's surrogate-gradient forward is a Python loop over time
of about six small autograd operations per step, and its backward the same again: at T = 784
that dispatch, not arithmetic, is the cost, and every step's intermediate tensors stay alive
until backward.  `LIFLayer` is one `torch.autograd.Function` for a whole layer over all steps:

* forward: a compiled scan (numba) over the layer's input currents I (K, T, n, w), which one
  batched product over all (step, sample) rows computes beforehand (autograd handles that
  product and its gradients).  It stores only the pre-reset membranes U (the spikes and the
  post-reset membranes are recomputed from them bit for bit), and returns the layer's output:
  spikes, or for the last layer the readout features (membrane 1[r >= 0], or analog r).
* backward: a compiled reverse scan through the leak, the detached reset and the ATan
  surrogate gives dL/dI; the products' gradients (input and weights) are autograd's.

Forward outputs are bit for bit those of the step loop in `LIFNetwork._unroll` (two roundings
per membrane update, `beta * r` then `+ I`, as torch, snntorch and spikingjelly compute it);
gradients equal torch autograd through that loop up to float rounding (tests/test_lif_grad.py).

The recurrence, per neuron, with s_t = H(u_t - theta), r_t = u_t - theta * s_t (reset
detached) and u_{t+1} = beta r_t + I_{t+1}:

    dr_t = beta du_{t+1} + g_feature_t * dfeature/dr_t
    du_t = dr_t + g_spike_t * sigma'(u_t - theta)          dI_t = du_t

with sigma'(x) = (alpha / 2) / (1 + (pi / 2 alpha x)^2), snntorch's and spikingjelly's ATan.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from numba import njit, prange

from snnbench.models.scan import OUTPUT, SAMPLES_PER_BLOCK, Features, _set_threads

ALPHA = 2.0  # the ATan surrogate's default in snntorch and spikingjelly (surrogate.py)


@njit(parallel=True, cache=True, boundscheck=False)
def _forward_kernel(currents, width, beta, theta, output, membranes, out):  # pragma: no cover
    """currents, membranes, out: (K, T, n * width); membranes gets u, out the layer's output."""
    branches, steps, size = currents.shape
    n = size // width
    blocks = (n + SAMPLES_PER_BLOCK - 1) // SAMPLES_PER_BLOCK
    one, zero = out.dtype.type(1), out.dtype.type(0)
    for job in prange(branches * blocks):
        k = job // blocks
        first = (job % blocks) * SAMPLES_PER_BLOCK
        start = first * width
        stop = min(n, first + SAMPLES_PER_BLOCK) * width
        r = np.zeros(stop - start, dtype=currents.dtype)
        for t in range(steps):
            for e in range(stop - start):
                u = beta * r[e] + currents[k, t, start + e]  # two roundings, as torch's loop
                membranes[k, t, start + e] = u
                spike = u - theta >= zero
                r[e] = u - theta if spike else u
                if output == 0:
                    out[k, t, start + e] = one if spike else zero
                elif output == 1:
                    out[k, t, start + e] = one if r[e] >= zero else zero
                else:
                    out[k, t, start + e] = r[e]


@njit(cache=True, boundscheck=False, inline="always")
def _surrogate(x, scale):  # pragma: no cover (compiled)
    """d/dx of the ATan surrogate, alpha = 2: 1 / (1 + (pi x)^2); scale = pi / 2 * alpha."""
    y = scale * x
    return x.dtype.type(1) / (x.dtype.type(1) + y * y)


@njit(parallel=True, cache=True, boundscheck=False)
def _backward_kernel(
    grad, membranes, width, beta, theta, output, scale, grad_in
):  # pragma: no cover
    """grad: dL/d(output) (K, T, n * width); grad_in gets dL/dI, by the reverse recurrence."""
    branches, steps, size = grad.shape
    n = size // width
    blocks = (n + SAMPLES_PER_BLOCK - 1) // SAMPLES_PER_BLOCK
    zero = grad.dtype.type(0)
    for job in prange(branches * blocks):
        k = job // blocks
        first = (job % blocks) * SAMPLES_PER_BLOCK
        start = first * width
        stop = min(n, first + SAMPLES_PER_BLOCK) * width
        du = np.zeros(stop - start, dtype=grad.dtype)  # dL/du_{t+1}
        for t in range(steps - 1, -1, -1):
            for e in range(stop - start):
                u = membranes[k, t, start + e]
                g = grad[k, t, start + e]
                dr = beta * du[e]
                if output == 0:  # the spikes are the output
                    du[e] = dr + g * _surrogate(u - theta, scale)
                else:
                    if output == 1:  # membrane feature H(r)
                        r = u - theta if u - theta >= zero else u
                        dr = dr + g * _surrogate(r, scale)
                    else:  # analog feature r
                        dr = dr + g
                    du[e] = dr
                grad_in[k, t, start + e] = du[e]


class LIFLayer(torch.autograd.Function):
    """One LIF layer over all steps: currents (K, T, n, w) -> spikes or readout features."""

    @staticmethod
    def forward(ctx, currents: torch.Tensor, beta: float, theta: float, output: Features):  # type: ignore[override]
        currents = currents.detach().contiguous()
        k, steps, n, width = currents.shape
        flat = currents.numpy().reshape(k, steps, n * width)
        dtype = flat.dtype.type
        membranes = np.empty_like(flat)
        out = np.empty_like(flat)
        _set_threads()
        _forward_kernel(flat, width, dtype(beta), dtype(theta), OUTPUT[output], membranes, out)
        ctx.save_for_backward(torch.from_numpy(membranes))
        ctx.beta, ctx.theta, ctx.output, ctx.width = beta, theta, output, width
        return torch.from_numpy(out).view(k, steps, n, width)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (membranes,) = ctx.saved_tensors
        k, steps, n, width = grad.shape
        grad = grad.contiguous()
        g = grad.numpy().reshape(k, steps, n * width)
        dtype = g.dtype.type
        grad_in = np.empty_like(g)
        _set_threads()
        _backward_kernel(
            g,
            membranes.numpy(),
            width,
            dtype(ctx.beta),
            dtype(ctx.theta),
            OUTPUT[ctx.output],
            dtype(math.pi / 2 * ALPHA),
            grad_in,
        )
        return torch.from_numpy(grad_in).view(k, steps, n, width), None, None, None


def lif_layer(currents: torch.Tensor, beta: float, theta: float, output: Features) -> torch.Tensor:
    """The layer's outputs at every step, (K, T, n, w), differentiable in `currents`."""
    return LIFLayer.apply(currents, beta, theta, output)
