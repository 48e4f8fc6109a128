"""The LIF layer's compiled kernels (numba): the fast no-grad path's two engines.

`gemm` (default): a layer of the canonical LIF network (methods.md section 1) is one matrix
product over all (step, sample) rows, then `lif_scan_`.  Written as torch operations the scan
costs about six passes over each step's state and one Python-level dispatch per operation and
step, which dominates long sequences (784 steps on smnist-t784).  Here each step is a single
fused pass over the state, vectorised and run in parallel over blocks of samples: about 4x
faster than the torch loop it replaced.  The kernel reproduces that loop bit for bit, so
every committed result file still re-verifies exactly: torch computes the loop's
`u.add_(r, alpha=beta)` as one fused multiply-add, so the kernel calls LLVM's `fma` intrinsic
rather than writing `beta * r + u`, which rounds twice (tests/test_lif.py compares the analog
outputs, where every rounding shows).  The libraries and our step and differentiable paths
round `beta * r` separately; that moves the membrane by a rounding error and a spike only
where u lands within one of theta, which no test or benchmark comparison has hit.

`events` (opt-in): a layer fed by spikes needs, per sample and step, only the weight rows of
the inputs whose spike changed since the previous step, added to a running current
(`lif_events`).  On recon's MNIST-sized network about 4 % of the inputs change per step, so
this does a small fraction of the product's arithmetic, which matters where the products
dominate (wide layers, short sequences; benchmarks/lif_forward.py).  When the layer before is
a product, its scan runs inside the same kernel, so its spikes are never stored.  The inputs
that changed are listed 16 at a time with compress stores where the CPU has AVX-512
(`_split_changes`: about 3x faster than the scalar loop, which other CPUs keep).  The running
currents are float64 sums of float32 weights, exact in practice (`_add_rows`), rounded once
per step: the float64 product rounded to float32 bit for bit (tested), which differs from the
float32 product in the last bit of most currents and so, rarely, in a spike.  Committed
results use `gemm`.
"""

from __future__ import annotations

from typing import Literal

import llvmlite.binding
import numba
import numpy as np
import torch
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

Features = Literal["spike", "membrane", "analog"]  # what the last layer outputs
SAMPLES_PER_BLOCK = 64  # one parallel job: a block of samples of one branch, every step
EVENT_SAMPLES_PER_BLOCK = (
    8  # the same for the events kernel: smaller, as its work per sample varies
)
OUTPUT = {"spike": 0, "membrane": 1, "analog": 2}
LANES = 16  # inputs the events kernel's change detection compares at once


def _compiles_for_avx512() -> bool:
    """Whether numba compiles for a CPU with AVX-512, where a compress store is one instruction."""
    features = numba.config.CPU_FEATURES or llvmlite.binding.get_host_cpu_features().flatten()
    return "+avx512f" in features.split(",")


COMPRESS = _compiles_for_avx512()  # frozen into the kernels; numba's cache is per CPU


def _set_threads() -> None:
    """Run the kernels on as many threads as torch may use (`OMP_NUM_THREADS=1`: one core).

    Starting numba's thread pool sets the OpenMP runtime's thread count to numba's default (all
    cores), which torch then reports and uses as well: so torch's count is read first and put
    back after (a run asked to use one thread would otherwise use, and record, every core)."""
    threads = torch.get_num_threads()
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


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


@njit(cache=True, boundscheck=False, inline="always")
def _lif_update(current, r, fired, beta, theta, output, dst):  # pragma: no cover (compiled)
    """One step of a row of neurons: r becomes the post-reset membrane, dst the output.

    `current` may alias `dst` (the in-place scan); `fired` counts each neuron's spikes.
    """
    one, zero = dst.dtype.type(1), dst.dtype.type(0)  # dst may be uint8 spikes
    for e in range(r.size):
        u = _fma(beta, r[e], r.dtype.type(current[e]))
        spike = u >= theta
        r[e] = u - theta if spike else u
        fired[e] += spike
        if output == 0:
            dst[e] = one if spike else zero
        elif output == 1:
            dst[e] = one if r[e] >= zero else zero
        else:
            dst[e] = r[e]


@njit(parallel=True, cache=True, boundscheck=False)
def _scan_kernel(currents, width, beta, theta, output, counts):  # pragma: no cover (compiled)
    """In place over currents (K, T, n * width); counts (K, n) gets every sample's spikes."""
    branches, steps, size = currents.shape
    n = size // width
    blocks = (n + SAMPLES_PER_BLOCK - 1) // SAMPLES_PER_BLOCK
    for job in prange(branches * blocks):
        k = job // blocks
        first = (job % blocks) * SAMPLES_PER_BLOCK
        last = min(n, first + SAMPLES_PER_BLOCK)
        start, m = first * width, (last - first) * width
        r = np.zeros(m, dtype=currents.dtype)  # membrane after reset, per neuron
        fired = np.zeros(m, dtype=np.int32)
        for t in range(steps):
            row = currents[k, t, start : start + m]
            _lif_update(row, r, fired, beta, theta, output, row)
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
    _set_threads()
    _scan_kernel(flat, width, dtype(beta), dtype(theta), OUTPUT[output], counts)
    if count is not None:
        count += torch.from_numpy(counts.sum(axis=0))


@njit(cache=True, boundscheck=False, inline="always")
def _accumulate(acc, e, value, subtract):  # pragma: no cover (compiled)
    """acc[e] -/+= value; `subtract` is loop-invariant, so the compiler hoists the branch and
    neither loop pays a multiplication by a sign (the kernel is bound by these operations)."""
    if subtract:
        acc[e] -= value
    else:
        acc[e] += value


@njit(cache=True, boundscheck=False, inline="always")
def _add_rows(acc, weights, rows, count, subtract):  # pragma: no cover (compiled)
    """acc +/-= the sum of weights[rows[:count]] in float64, four (then two) rows per pass.

    Each weight is a float32 and each current a sum of at most fan_in of them, so the float64
    sums are exact whenever the weights span fewer than 2^(29 - log2 fan_in) in magnitude:
    then the grouping does not change a bit.
    """
    q = 0
    while q + 4 <= count:
        w0, w1, w2, w3 = (
            weights[rows[q]],
            weights[rows[q + 1]],
            weights[rows[q + 2]],
            weights[rows[q + 3]],
        )
        for e in range(acc.size):
            _accumulate(
                acc,
                e,
                (np.float64(w0[e]) + np.float64(w1[e])) + (np.float64(w2[e]) + np.float64(w3[e])),
                subtract,
            )
        q += 4
    if q + 2 <= count:
        w0, w1 = weights[rows[q]], weights[rows[q + 1]]
        for e in range(acc.size):
            _accumulate(acc, e, np.float64(w0[e]) + np.float64(w1[e]), subtract)
        q += 2
    if q < count:  # at most one row is left
        w0 = weights[rows[q]]
        for e in range(acc.size):
            _accumulate(acc, e, np.float64(w0[e]), subtract)


@intrinsic
def _split_lanes(typingctx, now_addr, before_addr, first, rising_addr, falling_addr):
    """LANES inputs from `first` on: appends the indices of those whose spike rose (fell) to
    the int32 list at rising_addr (falling_addr) with two compress stores (LLVM's
    `masked.compressstore`: one instruction each with AVX-512); returns rises + falls << 32."""
    sig = types.int64(types.intp, types.intp, types.int64, types.intp, types.intp)

    def codegen(context, builder, signature, args):
        now_addr, before_addr, first, rising_addr, falling_addr = args
        i32, i64 = ir.IntType(32), ir.IntType(64)
        spikes, indices = ir.VectorType(ir.IntType(8), LANES), ir.VectorType(i32, LANES)
        mask, bits = ir.VectorType(ir.IntType(1), LANES), ir.IntType(LANES)
        now = builder.load(builder.inttoptr(now_addr, spikes.as_pointer()), align=1)
        before = builder.load(builder.inttoptr(before_addr, spikes.as_pointer()), align=1)
        base = builder.insert_element(
            ir.Constant(indices, ir.Undefined), builder.trunc(first, i32), ir.Constant(i32, 0)
        )
        base = builder.shuffle_vector(
            base, ir.Constant(indices, ir.Undefined), ir.Constant(indices, [0] * LANES)
        )
        index = builder.add(base, ir.Constant(indices, list(range(LANES))))
        store = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [indices, i32.as_pointer(), mask]),
            f"llvm.masked.compressstore.v{LANES}i32",
        )
        popcount = builder.module.declare_intrinsic(
            "llvm.ctpop", [bits], ir.FunctionType(bits, [bits])
        )
        counts = []
        for moved, addr in (
            (builder.icmp_unsigned(">", now, before), rising_addr),
            (builder.icmp_unsigned("<", now, before), falling_addr),
        ):
            builder.call(store, [index, builder.inttoptr(addr, i32.as_pointer()), moved])
            counts.append(builder.zext(builder.call(popcount, [builder.bitcast(moved, bits)]), i64))
        return builder.or_(counts[0], builder.shl(counts[1], ir.Constant(i64, 32)))

    return sig, codegen


@njit(cache=True, boundscheck=False, inline="always")
def _split_compressed(now, before, rising, falling):  # pragma: no cover (compiled)
    """`_split_changes` LANES inputs at a time; now and before are padded to a multiple."""
    rises, falls = 0, 0
    now_addr, before_addr = now.ctypes.data, before.ctypes.data
    rising_addr, falling_addr = rising.ctypes.data, falling.ctypes.data
    for first in range(0, now.size, LANES):
        moved = _split_lanes(
            now_addr + first,
            before_addr + first,
            first,
            rising_addr + 4 * rises,
            falling_addr + 4 * falls,
        )
        rises += moved & 0xFFFFFFFF
        falls += moved >> 32
    return rises, falls


@njit(cache=True, boundscheck=False, inline="always")
def _split_scalar(now, before, changed, rising, falling):  # pragma: no cover (compiled)
    """`_split_changes` one input at a time, branch-free (a mispredicted branch costs more
    than a store): write every j to `changed`, keep those that changed, then split them."""
    moved = 0
    for j in range(now.size):
        changed[moved] = j
        moved += now[j] != before[j]
    rises, falls = 0, 0
    for q in range(moved):
        j = changed[q]
        up = now[j] != 0
        rising[rises] = j
        falling[falls] = j
        rises += up
        falls += not up
    return rises, falls


@njit(cache=True, boundscheck=False, inline="always")
def _split_changes(now, before, changed, rising, falling):  # pragma: no cover (compiled)
    """(rises, falls): the inputs whose spike (0/1) rose, resp. fell, since the step before,
    written to the start of rising and falling (int32, one slot per input; `changed`, as
    large, is scratch for the scalar way)."""
    if COMPRESS:
        return _split_compressed(now, before, rising, falling)
    return _split_scalar(now, before, changed, rising, falling)


@njit(cache=True, boundscheck=False)
def _event_sample(
    inputs,
    integrate,
    weights,
    k,
    i,
    beta,
    theta,
    output,
    out,
    acc,
    r,
    fired,
    r_in,
    fired_in,
    now,
    before,
    changed,
    rising,
    falling,
):  # pragma: no cover
    """One sample of `_event_kernel`; returns its spikes (both layers' with `integrate`)."""
    steps, fan_in = inputs.shape[2], inputs.shape[3]
    acc[:] = 0.0
    r[:] = 0
    fired[:] = 0
    r_in[:] = 0
    fired_in[:] = 0
    before[:] = 0  # silence before t = 0
    for t in range(steps):
        x = inputs[k, i, t]
        if integrate:  # the input layer's own LIF step, exactly as its scan would do it
            _lif_update(x, r_in, fired_in, beta, theta, 0, now)
        else:
            for j in range(fan_in):
                now[j] = x[j] != 0
        rises, falls = _split_changes(now, before, changed, rising, falling)
        _add_rows(acc, weights[k], rising, rises, False)
        _add_rows(acc, weights[k], falling, falls, True)
        _lif_update(acc, r, fired, beta, theta, output, out[k, i, 0 if out.shape[2] == 1 else t])
        now, before = before, now
    return fired.sum() + fired_in.sum()


@njit(parallel=True, cache=True, boundscheck=False)
def _event_kernel(
    inputs, integrate, weights, beta, theta, output, out, counts
):  # pragma: no cover (compiled)
    """Inputs (K, n, T, f) through weights (K, f, w) to outputs (K, n, T_out, w): sample-major,
    so that each sample's steps are read and written in one contiguous run.

    Per sample, the currents live in a float64 accumulator that each step changes by the
    weight rows of the inputs whose spike changed since the previous step.  With
    T_out = 1 every step writes the same row, so only the last step's outputs remain.
    """
    branches, n, fan_in, width = inputs.shape[0], inputs.shape[1], inputs.shape[3], weights.shape[2]
    blocks = (n + EVENT_SAMPLES_PER_BLOCK - 1) // EVENT_SAMPLES_PER_BLOCK
    for job in prange(branches * blocks):  # branch-major: with one thread per branch, each core's
        # cache holds one branch's weights
        k = job // blocks
        first = (job % blocks) * EVENT_SAMPLES_PER_BLOCK
        acc = np.empty(width, dtype=np.float64)
        r = np.empty(width, dtype=out.dtype)
        fired = np.empty(width, dtype=np.int32)
        r_in = np.empty(fan_in, dtype=inputs.dtype)
        fired_in = np.empty(fan_in, dtype=np.int32)
        padded = -(-fan_in // LANES) * LANES  # spikes past fan_in stay 0: they never change
        now, before = np.zeros(padded, dtype=np.uint8), np.zeros(padded, dtype=np.uint8)
        changed = np.empty(padded, dtype=np.int32)
        rising, falling = np.empty_like(changed), np.empty_like(changed)
        for i in range(first, min(n, first + EVENT_SAMPLES_PER_BLOCK)):
            counts[k, i] += _event_sample(
                inputs,
                integrate,
                weights,
                k,
                i,
                beta,
                theta,
                output,
                out,
                acc,
                r,
                fired,
                r_in,
                fired_in,
                now,
                before,
                changed,
                rising,
                falling,
            )


def lif_events(
    inputs: torch.Tensor,
    weights: torch.Tensor,
    beta: float,
    theta: float,
    output: Features,
    count: torch.Tensor | None,
    last_only: bool,
    integrate: bool,
) -> torch.Tensor:
    """A layer driven event by event through weights (K, f, w) by the spikes of the layer
    before it: `inputs` (K, n, T, f), sample-major, are those spikes (0.0 / 1.0), or with
    `integrate` that layer's input currents, whose scan then runs here, fused (its spikes are
    never stored).

    Returns the layer's outputs (K, n, T, w), or (K, n, 1, w) at the last step only; `count`
    gets the spikes of both layers with `integrate`.  The currents are accumulated in float64
    and rounded once per step, so they are the float64 products rounded to float32 (tested),
    not the float32 matrix product's: the spikes agree with the `gemm` path except where u
    lands within float32 rounding of theta.  Costs in proportion to the changes of the input
    spikes, not to fan_in.
    """
    branches, n, steps, fan_in = inputs.shape
    if inputs.dtype != weights.dtype or weights.shape[:2] != (branches, fan_in):
        raise ValueError(f"inputs {tuple(inputs.shape)} do not feed weights {tuple(weights.shape)}")
    if inputs.device.type != "cpu":
        raise ValueError("lif_events needs CPU tensors")
    out = torch.empty(branches, n, 1 if last_only else steps, weights.shape[2], dtype=inputs.dtype)
    counts = np.zeros((branches, n), dtype=np.int64)
    dtype = out.numpy().dtype.type
    _set_threads()
    _event_kernel(
        inputs.contiguous().numpy(),
        integrate,
        weights.contiguous().numpy(),
        dtype(beta),
        dtype(theta),
        OUTPUT[output],
        out.numpy(),
        counts,
    )
    if count is not None:
        count += torch.from_numpy(counts.sum(axis=0))
    return out
