"""The LIF scan over time, compiled with numba: the fast no-grad path's elementwise half.

A layer of the canonical LIF network (methods.md section 1) is one matrix product over all
(step, sample) rows, then this scan.  Written as torch operations the scan costs about six
passes over each step's state and one Python-level dispatch per operation and step, which
dominates long sequences (784 steps on smnist-t784).  Here each step is a single fused pass
over the state, vectorised and run in parallel over blocks of samples: about 4x faster than
the torch loop it replaced.

The kernel reproduces the torch loop it replaced bit for bit, so every committed result file
still re-verifies exactly: torch computes that loop's `u.add_(r, alpha=beta)` as one fused
multiply-add, so the kernel calls LLVM's `fma` intrinsic rather than writing `beta * r + u`,
which rounds twice (tests/test_lif.py compares the analog outputs, where every rounding shows).
The libraries and our step and differentiable paths round `beta * r` separately; that moves
the membrane by a rounding error and a spike only where u lands within one of theta, which no
test or benchmark comparison has hit (spikes are compared bit for bit there).
"""

from __future__ import annotations

from typing import Literal

import numba
import numpy as np
import torch
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

Features = Literal["spike", "membrane", "analog"]  # what the last layer outputs
SAMPLES_PER_BLOCK = 64  # one parallel job: a block of samples of one branch, every step
OUTPUT = {"spike": 0, "membrane": 1, "analog": 2}


@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c rounded once, like torch's `add_(other, alpha=...)` on the CPU."""
    if not (a == b == c and isinstance(a, types.Float)):
        return None
    sig = a(a, a, a)

    def codegen(context, builder, signature, args):
        ty = context.get_value_type(a)
        fn = builder.module.declare_intrinsic("llvm.fma", [ty], ir.FunctionType(ty, [ty, ty, ty]))
        return builder.call(fn, args)

    return sig, codegen


@njit(parallel=True, cache=True, boundscheck=False)
def _scan_kernel(currents, width, beta, theta, output, counts):  # pragma: no cover (compiled)
    """In place over currents (K, T, n * width); counts (K, n) gets every sample's spikes."""
    branches, steps, size = currents.shape
    n = size // width
    blocks = (n + SAMPLES_PER_BLOCK - 1) // SAMPLES_PER_BLOCK
    one, zero = currents.dtype.type(1), currents.dtype.type(0)
    for job in prange(branches * blocks):
        k = job // blocks
        first = (job % blocks) * SAMPLES_PER_BLOCK
        last = min(n, first + SAMPLES_PER_BLOCK)
        start, m = first * width, (last - first) * width
        r = np.zeros(m, dtype=currents.dtype)  # membrane after reset, per neuron
        fired = np.zeros(m, dtype=np.int32)
        for t in range(steps):
            row = currents[k, t, start : start + m]
            for e in range(m):
                u = _fma(beta, r[e], row[e])
                spike = u >= theta
                r[e] = u - theta if spike else u
                fired[e] += spike
                if output == 0:
                    row[e] = one if spike else zero
                elif output == 1:
                    row[e] = one if r[e] >= zero else zero
                else:
                    row[e] = r[e]
        for i in range(last - first):
            counts[k, first + i] += fired[i * width : (i + 1) * width].sum()


def lif_scan_(
    currents: torch.Tensor,
    beta: float,
    theta: float,
    output: Features,
    count: torch.Tensor | None,
) -> None:
    """In place: input currents (K, T, n, w) become the layer's outputs at every step.

    Outputs are spikes, or for the last layer the readout features (`membrane`: 1[r >= 0],
    `analog`: r).  `count` (n,), when given, accumulates every spike of the layer per sample.
    Runs on as many threads as torch is allowed, so `OMP_NUM_THREADS=1` means one core.
    """
    if currents.device.type != "cpu" or not currents.is_contiguous():
        raise ValueError("lif_scan_ needs a contiguous CPU tensor")
    branches, steps, n, width = currents.shape
    flat = currents.numpy().reshape(branches, steps, n * width)  # a view: written in place
    dtype = flat.dtype.type
    counts = np.zeros((branches, n), dtype=np.int64)
    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))
    _scan_kernel(flat, width, dtype(beta), dtype(theta), OUTPUT[output], counts)
    if count is not None:
        count += torch.from_numpy(counts.sum(axis=0))
