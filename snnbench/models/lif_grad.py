"""The differentiable LIF layer, fused over all steps (surrogate-gradient training).

Written as torch operations, a layer's surrogate-gradient forward is a Python loop over time
of about six small autograd operations per step, and its backward the same again: at T = 784
that dispatch, not arithmetic, is the cost, and every step's intermediate tensors stay alive
until backward.  Here a layer is one `torch.autograd.Function` over all steps:

* forward: a compiled scan (numba) over the layer's input currents I (K, T, n, w), which one
  product over all (step, sample) rows computes beforehand.  It stores only the pre-reset
  membranes U (the spikes and the post-reset membranes are recomputed from them bit for bit).
  A hidden layer (`SpikingLayer`) writes its spikes as bytes and sums the next layer's
  currents from their events (spike_product.py), keeping the bytes for backward; the last
  layer (`LastLayer`) returns the readout features (spikes, membrane 1[r >= 0], or analog r).
* backward: a compiled reverse scan through the leak, the detached reset and the ATan
  surrogate gives dL/dI; a hidden layer first takes dL/dspikes and the next weights' gradient
  from the next layer's dL/dI (a dense product; event sums).  The first layer's currents are
  autograd's own dense product of the real-valued inputs.

Given the same currents, forward outputs are bit for bit those of a step loop of torch
operations (two roundings per membrane update, `beta * r` then `+ I`, as torch, snntorch and
spikingjelly compute it); gradients equal torch autograd through that loop up to float
rounding (tests/test_lif_grad.py).

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
from torch.autograd.function import once_differentiable

from snnbench.models.scan import OUTPUT, SAMPLES_PER_BLOCK, Features, _set_threads
from snnbench.models.spike_product import event_currents, event_weight_grad

ALPHA = 2.0  # the ATan surrogate's default in snntorch and spikingjelly (surrogate.py)
# Layouts of a layer's outputs and of their gradient, each (width,) row one (branch, step, sample)
BRANCH_MAJOR = 0  # (K, T', n, w): spikes, as the next layer's product reads them
TIME_MAJOR = 1  # (T', n, K, w): a readout features' gradient that came in another layout
SAMPLE_MAJOR = 2  # (n, T', K, w): readout features and their gradient, as the readout has them


@njit(cache=True, boundscheck=False, inline="always")
def _forward_row(current, r, u_out, out, beta, theta, output):  # pragma: no cover (compiled)
    """One step of a row of neurons: u_out gets u, out the output, r the post-reset membrane."""
    zero, one = r.dtype.type(0), r.dtype.type(1)
    for e in range(r.size):
        u = beta * r[e] + current[e]  # two roundings, as torch's loop
        u_out[e] = u
        spike = u - theta >= zero
        r[e] = u - theta if spike else u
        if output == 0:
            out[e] = one if spike else zero
        elif output == 1:
            out[e] = one if r[e] >= zero else zero
        else:
            out[e] = r[e]


@njit(cache=True, boundscheck=False, inline="always")
def _job(job, blocks, n, width):  # pragma: no cover (compiled)
    """One parallel job: (branch, first and end element of its block of samples' rows)."""
    first = (job % blocks) * SAMPLES_PER_BLOCK
    return job // blocks, first * width, min(n, first + SAMPLES_PER_BLOCK) * width


@njit(cache=True, boundscheck=False, inline="always")
def _row(values, layout, k, t, i):  # pragma: no cover (compiled)
    """The (width,) row of branch k, step t, sample i of a 4D array time- or sample-major (the
    kernels read and write branch-major arrays a block of samples at a time instead)."""
    return values[t, i, k] if layout == TIME_MAJOR else values[i, t, k]


@njit(parallel=True, cache=True, boundscheck=False)
def _forward_kernel(
    currents, width, beta, theta, output, membranes, out, layout
):  # pragma: no cover
    """currents, membranes: (K, T, n * width); membranes gets u, out (4D, in `layout`) the
    layer's output at every step, or at the last step only (T' = 1)."""
    branches, steps, size = currents.shape
    n = size // width
    blocks = (n + SAMPLES_PER_BLOCK - 1) // SAMPLES_PER_BLOCK
    every = out.shape[0 if layout == TIME_MAJOR else 1] == steps  # else the last step only
    flat = out.reshape((out.shape[0], out.shape[1], out.shape[2] * out.shape[3]))
    for job in prange(branches * blocks):
        k, start, stop = _job(job, blocks, n, width)
        r = np.zeros(stop - start, dtype=currents.dtype)
        scratch = np.empty(stop - start, dtype=out.dtype)  # outputs no one reads
        for t in range(steps):
            written, at = every or t == steps - 1, t if every else 0
            if written and layout != BRANCH_MAJOR:  # a row per sample: the block's are apart
                for a in range(0, stop - start, width):
                    _forward_row(
                        currents[k, t, start + a : start + a + width],
                        r[a : a + width],
                        membranes[k, t, start + a : start + a + width],
                        _row(out, layout, k, at, (start + a) // width),
                        beta,
                        theta,
                        output,
                    )
            else:
                dst = flat[k, at, start:stop] if written else scratch
                _forward_row(
                    currents[k, t, start:stop], r, membranes[k, t, start:stop], dst, beta, theta,
                    output,
                )


@njit(cache=True, boundscheck=False, inline="always")
def _surrogate(x, scale, one):  # pragma: no cover (compiled)
    """d/dx of the ATan surrogate, alpha = 2: 1 / (1 + (pi x)^2); scale = pi / 2 * alpha."""
    y = scale * x
    return one / (one + y * y)


@njit(cache=True, boundscheck=False, inline="always")
def _backward_row(grad, u_row, du, grad_in, beta, theta, output, scale):  # pragma: no cover
    """One step back: du holds dL/du_{t+1} and becomes dL/du_t, which grad_in gets too."""
    zero, one = du.dtype.type(0), du.dtype.type(1)
    for e in range(du.size):
        u = u_row[e]
        dr = beta * du[e]
        if output == 0:  # the spikes are the output
            d = dr + grad[e] * _surrogate(u - theta, scale, one)
        elif output == 1:  # membrane feature H(r)
            r = u - theta if u - theta >= zero else u
            d = dr + grad[e] * _surrogate(r, scale, one)
        else:  # analog feature r
            d = dr + grad[e]
        du[e] = d
        grad_in[e] = d


@njit(parallel=True, cache=True, boundscheck=False)
def _backward_kernel(
    grad, layout, membranes, width, beta, theta, output, scale, grad_in
):  # pragma: no cover
    """grad: dL/d(output) (4D, in `layout`) at every step, or the last only; grad_in
    (K, T, n * width) gets dL/dI, by the reverse recurrence."""
    branches, steps, size = membranes.shape
    n = size // width
    blocks = (n + SAMPLES_PER_BLOCK - 1) // SAMPLES_PER_BLOCK
    every = grad.shape[0 if layout == TIME_MAJOR else 1] == steps  # else the last step only
    flat = grad.reshape((grad.shape[0], grad.shape[1], grad.shape[2] * grad.shape[3]))
    for job in prange(branches * blocks):
        k, start, stop = _job(job, blocks, n, width)
        du = np.zeros(stop - start, dtype=grad.dtype)  # dL/du_{t+1}
        nothing = np.zeros(stop - start, dtype=grad.dtype)  # no gradient before the last step
        for t in range(steps - 1, -1, -1):
            given, at = every or t == steps - 1, t if every else 0
            if given and layout != BRANCH_MAJOR:  # a row per sample: the block's are apart
                for a in range(0, stop - start, width):
                    _backward_row(
                        _row(grad, layout, k, at, (start + a) // width),
                        membranes[k, t, start + a : start + a + width],
                        du[a : a + width],
                        grad_in[k, t, start + a : start + a + width],
                        beta,
                        theta,
                        output,
                        scale,
                    )
            else:
                _backward_row(
                    flat[k, at, start:stop] if given else nothing,
                    membranes[k, t, start:stop],
                    du,
                    grad_in[k, t, start:stop],
                    beta,
                    theta,
                    output,
                    scale,
                )


def _scan(
    currents: torch.Tensor,
    beta: float,
    theta: float,
    output: Features,
    shape: tuple[int, ...],
    layout: int,
    dtype: type[np.generic] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Runs the forward kernel on currents (K, T, n, w): (its output, of `shape` in `layout`
    and of `dtype` (the currents' if None), the pre-reset membranes (K, T, n * w))."""
    k, steps, n, width = currents.shape
    flat = currents.detach().contiguous().numpy().reshape(k, steps, n * width)
    real = flat.dtype.type
    membranes, out = np.empty_like(flat), np.empty(shape, dtype=dtype or flat.dtype)
    _set_threads()
    _forward_kernel(flat, width, real(beta), real(theta), OUTPUT[output], membranes, out, layout)
    return torch.from_numpy(out), torch.from_numpy(membranes)


def _scan_back(
    membranes: torch.Tensor,
    grad: torch.Tensor,
    layout: int,
    beta: float,
    theta: float,
    output: Features,
    width: int,
) -> torch.Tensor:
    """dL/dcurrents (K, T, n, w), by the reverse kernel from the membranes (K, T, n * w) and
    dL/doutput `grad` (in `layout`)."""
    g = grad.numpy()
    real = g.dtype.type
    grad_in = np.empty_like(membranes.numpy())
    scale = real(math.pi / 2 * ALPHA)
    _set_threads()
    _backward_kernel(
        g, layout, membranes.numpy(), width, real(beta), real(theta), OUTPUT[output], scale, grad_in
    )
    k, steps, size = membranes.shape
    return torch.from_numpy(grad_in).view(k, steps, size // width, width)


class LastLayer(torch.autograd.Function):
    """The last LIF layer over all steps: currents (K, T, n, w) -> the readout's features
    (spikes, membrane or analog) at every step, or at the last step only (T' = 1: a last-step
    readout then never holds the other steps' features, nor their (zero) gradients), as
    (T', n, K, w) lying sample-major (n, T', K, w) in memory: the readout's (n, T', K * w)
    input is then a view, not a copy, and its gradient comes back in that layout, where the
    backward reads it.  It keeps the pre-reset membranes for backward."""

    @staticmethod
    def forward(ctx, currents, beta, theta, features, last_only):  # type: ignore[override]
        k, steps, n, width = currents.shape
        shape = (n, 1 if last_only else steps, k, width)
        out, membranes = _scan(currents, beta, theta, features, shape, SAMPLE_MAJOR)
        ctx.save_for_backward(membranes)
        ctx.constants = beta, theta, features, width
        return out.transpose(0, 1)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        if grad.transpose(0, 1).is_contiguous():  # an every-step readout's, or a last step's
            grad, layout = grad.transpose(0, 1), SAMPLE_MAJOR
        else:
            grad, layout = grad.contiguous(), TIME_MAJOR
        (membranes,) = ctx.saved_tensors
        return _scan_back(membranes, grad, layout, *ctx.constants), None, None, None, None


class SpikingLayer(torch.autograd.Function):
    """A hidden LIF layer and the product that feeds its spikes to the next layer, over all
    steps: currents (K, T, n, w) and the next layer's weights (K, w', w) -> the next layer's
    currents (K, T, n, w'), and the spikes (K, T, n, w) as bytes (not differentiable; for
    recording them).  The spikes never exist as floats: the scan writes them as bytes, which
    the event sums read and backward keeps, with the pre-reset membranes and the next weights
    (a float copy would be written, read and converted, 4 bytes a spike each way)."""

    @staticmethod
    def forward(ctx, currents, weights, beta, theta):  # type: ignore[override]
        k, steps, n, width = currents.shape
        fired, membranes = _scan(
            currents, beta, theta, "spike", currents.shape, BRANCH_MAJOR, np.uint8
        )
        following = event_currents(fired.view(k, steps * n, width), weights)
        ctx.save_for_backward(membranes, fired, weights)
        ctx.constants = beta, theta, "spike", width
        ctx.mark_non_differentiable(fired)
        ctx.set_materialize_grads(False)  # no zero gradient of the spikes' size is made
        return following.view(k, steps, n, -1), fired

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor, _):  # type: ignore[override]
        # runs only when the next currents have a gradient: the spikes never get one
        membranes, fired, weights = ctx.saved_tensors
        k, steps, n, width = fired.shape
        grad = grad.contiguous().view(k, steps * n, -1)
        grad_currents = grad_weights = None
        if ctx.needs_input_grad[0]:
            grad_spikes = torch.bmm(grad, weights).view(fired.shape)  # dense: no binary operand
            grad_currents = _scan_back(membranes, grad_spikes, BRANCH_MAJOR, *ctx.constants)
        if ctx.needs_input_grad[1]:
            grad_weights = event_weight_grad(fired.view(k, steps * n, width), grad)
        return grad_currents, grad_weights, None, None


def last_layer(
    currents: torch.Tensor, beta: float, theta: float, features: Features, last_only: bool
) -> torch.Tensor:
    """The readout's features (T', n, K, w), lying sample-major, of the last LIF layer fed
    `currents` (K, T, n, w): at every step, or with last_only at the last step only (T' = 1);
    differentiable in `currents` (`LastLayer`)."""
    return LastLayer.apply(currents, beta, theta, features, last_only)


def spiking_layer(
    currents: torch.Tensor, weights: torch.Tensor, beta: float, theta: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(the next layer's currents (K, T, n, w'), this layer's spikes as bytes (K, T, n, w)) of
    a hidden layer fed `currents` (K, T, n, w), through the next weights (K, w', w);
    differentiable in both (`SpikingLayer`)."""
    return SpikingLayer.apply(currents, weights, beta, theta)
