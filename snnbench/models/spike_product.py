"""Products of binary spikes and weights, computed from the spikes' events.

A layer fed by spikes gets its input currents from spikes (K, R, f) @ weights (K, w, f)^T over
all (step, sample) rows R, and its weight gradient from grad (K, R, w)^T @ spikes.  Both
products take the binary spikes as one operand, so each is a sum of the rows the spikes select:
the weights' rows of the inputs that fired (`event_currents`), the output gradient's rows of the
steps and samples where an input fired (`event_weight_grad`).  Their cost is proportional to
the spike count, where a dense product's is proportional to R * f: 1.2 to 4 times faster than
MKL's dense product at the densities the paper nets run at (0.04 to 0.19; README).  The spikes
come as bytes, as the LIF scan writes them (lif_grad.py's `SpikingLayer`, which owns the
autograd); the input gradient, grad @ weights, has no binary operand and stays torch's dense
product there.

Every output element is a sum in a fixed order (inputs, or rows, ascending; eight rows added
per pass over the accumulator, left to right), independent of the thread count and of the
CPU's vector width: the same numbers on every CPU, where a BLAS product's order follows its
kernel.  The order differs from the dense product's, so currents differ from it by float
rounding (tests/test_lif_grad.py).
"""

from __future__ import annotations

import numpy as np
import torch
from numba import njit, prange

from snnbench.models.scan import _set_threads

ROWS_PER_JOB = 64  # (step, sample) rows whose currents one parallel job sums
ROWS_PER_PASS = 256  # rows of the output gradient one pass of the weight gradient keeps in cache
COLUMNS_PER_JOB = 64  # inputs whose weight-gradient rows one parallel job accumulates


@njit(cache=True, boundscheck=False, inline="always")
def _accumulate(acc, table, picks, count):  # pragma: no cover (compiled)
    """acc += table[picks[0]] + ... + table[picks[count - 1]], each element summed left to right.
    Eight rows per pass over acc: the accumulator is loaded and stored once per eight rows."""
    q = 0
    while q + 8 <= count:
        a0, a1, a2, a3 = (
            table[picks[q]],
            table[picks[q + 1]],
            table[picks[q + 2]],
            table[picks[q + 3]],
        )
        a4, a5, a6, a7 = (
            table[picks[q + 4]],
            table[picks[q + 5]],
            table[picks[q + 6]],
            table[picks[q + 7]],
        )
        for e in range(acc.size):
            acc[e] = (
                ((((((acc[e] + a0[e]) + a1[e]) + a2[e]) + a3[e]) + a4[e]) + a5[e]) + a6[e]
            ) + a7[e]
        q += 8
    while q < count:
        a0 = table[picks[q]]
        for e in range(acc.size):
            acc[e] += a0[e]
        q += 1


@njit(parallel=True, cache=True, boundscheck=False)
def _event_currents(fired, weights_t, currents):  # pragma: no cover (compiled)
    """currents[k, r] = sum of weights_t[k, j] over the inputs j that fired in row r (fired
    (K, R, f) uint8, weights_t (K, f, w)), j ascending."""
    branches, rows, fan_in = fired.shape
    blocks = (rows + ROWS_PER_JOB - 1) // ROWS_PER_JOB
    zero = currents.dtype.type(0)
    for job in prange(branches * blocks):
        k, first = job // blocks, (job % blocks) * ROWS_PER_JOB
        picks = np.empty(fan_in, dtype=np.int64)
        for r in range(first, min(rows, first + ROWS_PER_JOB)):
            count = 0
            for j in range(fan_in):  # branch-free: a mispredicted branch per spike costs more
                picks[count] = j
                count += fired[k, r, j]
            acc = currents[k, r]
            acc[:] = zero
            _accumulate(acc, weights_t[k], picks, count)


@njit(parallel=True, cache=True, boundscheck=False)
def _event_weight_grad(fired, grad, grad_wt):  # pragma: no cover (compiled)
    """grad_wt[k, j] = sum of grad[k, r] over the rows r where input j fired (fired (K, R, f)
    uint8, grad (K, R, w)), r ascending: the weight gradient, transposed.  Rows are taken
    ROWS_PER_PASS at a time, so that the rows every input of a job adds stay in cache."""
    branches, rows, fan_in = fired.shape
    blocks = (fan_in + COLUMNS_PER_JOB - 1) // COLUMNS_PER_JOB
    zero = grad_wt.dtype.type(0)
    for job in prange(branches * blocks):
        k, first = job // blocks, (job % blocks) * COLUMNS_PER_JOB
        stop = min(fan_in, first + COLUMNS_PER_JOB)
        picks = np.empty(ROWS_PER_PASS, dtype=np.int64)
        grad_wt[k, first:stop] = zero
        for start in range(0, rows, ROWS_PER_PASS):
            end = min(rows, start + ROWS_PER_PASS)
            for j in range(first, stop):
                count = 0
                for r in range(start, end):
                    picks[count] = r
                    count += fired[k, r, j]
                _accumulate(grad_wt[k, j], grad[k], picks, count)


def _bytes(fired: torch.Tensor) -> np.ndarray:
    """The spikes as the kernels read them: bytes 0 or 1, which they count by adding up."""
    if fired.dtype != torch.uint8:
        raise TypeError(f"fired must be bytes (torch.uint8), not {fired.dtype}")
    return fired.numpy()


def event_currents(fired: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Currents (K, R, w) = fired (K, R, f) @ weights (K, w, f)^T, for spikes given as bytes
    0 or 1."""
    weights_t = weights.detach().transpose(1, 2).contiguous().numpy()
    currents = np.empty((*fired.shape[:2], weights.shape[1]), dtype=weights_t.dtype)
    _set_threads()
    _event_currents(_bytes(fired), weights_t, currents)
    return torch.from_numpy(currents)


def event_weight_grad(fired: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """dL/dweights (K, w, f) of `event_currents`, given dL/dcurrents grad (K, R, w): grad^T @
    fired (bytes 0 or 1), as a transposed view."""
    grad = grad.contiguous().numpy()
    grad_wt = np.empty((fired.shape[0], fired.shape[2], grad.shape[2]), dtype=grad.dtype)
    _set_threads()
    _event_weight_grad(_bytes(fired), grad, grad_wt)
    return torch.from_numpy(grad_wt).transpose(1, 2)
