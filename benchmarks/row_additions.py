"""The events engine's inner loop alone: adding weight rows to a float64 running current.

`snnbench/models/scan.py`'s `_add_rows` does most of the events kernel's work (README,
Performance).  This times it per step as the kernel calls it (a few rising rows added, a few
falling rows subtracted) on one thread, with the rows drawn from a small set (L1-resident)
or from the whole weight matrix (the kernel's case, L2), for float32 rows (the engine's) and
float64 copies (no conversions, twice the bytes), against numpy doing the same sums in the
same process.  Prints G additions/s (one addition: one weight added to one current) and
the largest difference between the two final currents.

    python benchmarks/row_additions.py [--width 512] [--fan-in 256] [--steps 100000]
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np
from numba import njit

from snnbench.models.scan import _add_rows


@njit  # not cached: the tests load this file under another module name
def _steps(acc, weights, rising, falling):  # pragma: no cover (compiled)
    """One call per step, as in the kernel: rising rows added, then falling rows subtracted."""
    for t in range(rising.shape[0]):
        _add_rows(acc, weights, rising[t], rising.shape[1], False)
        _add_rows(acc, weights, falling[t], falling.shape[1], True)


def _numpy_steps(
    acc: np.ndarray, weights: np.ndarray, rising: np.ndarray, falling: np.ndarray
) -> None:
    for up, down in zip(rising, falling, strict=False):
        acc += weights[up].sum(0, dtype=np.float64) - weights[down].sum(0, dtype=np.float64)


def best_rate(fn, args: tuple, additions: int, repeats: int) -> tuple[float, np.ndarray]:
    """(G additions/s of the fastest run, the current after one run from zero)."""
    best, acc = float("inf"), None
    for _ in range(repeats):
        acc = np.zeros(args[0].shape[1])
        start = time.perf_counter()
        fn(acc, *args)
        best = min(best, time.perf_counter() - start)
    return additions / best / 1e9, acc


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--width", type=int, default=512, help="current width (P_last per branch)")
    parser.add_argument("--fan-in", type=int, default=256, help="rows in the weight matrix")
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument(
        "--per-step", type=int, default=7, help="rising (and falling) rows per step"
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not 0 < 2 * args.per_step <= args.fan_in:
        parser.error("--per-step must be positive and at most half of --fan-in")
    numba.set_num_threads(1)
    rng = np.random.default_rng(0)
    weights32 = rng.standard_normal((args.fan_in, args.width)).astype(np.float32)
    weights = {"float32": weights32, "float64": weights32.astype(np.float64)}
    additions = 2 * args.steps * args.per_step * args.width
    l1_rows = min(
        args.fan_in, max(2 * args.per_step, 32 * 1024 // (4 * args.width))
    )  # rows in 32 KiB
    print(
        f"one thread, width {args.width}, {args.per_step} + {args.per_step} rows per step, "
        f"G additions/s (best of {args.repeats})\n"
    )
    print(
        "| rows drawn from | rows stored as | snnbench `_add_rows` | numpy | ratio "
        "| max difference |"
    )
    print("|---|---|---|---|---|---|")
    for span, label in (
        (l1_rows, f"{l1_rows} rows (32 KiB as float32)"),
        (args.fan_in, f"all {args.fan_in}"),
    ):
        picks = np.stack(
            [rng.choice(span, 2 * args.per_step, replace=False) for _ in range(args.steps)]
        )
        rising, falling = picks[:, : args.per_step].copy(), picks[:, args.per_step :].copy()
        for name, w in weights.items():
            _steps(np.zeros(args.width), w, rising[:2], falling[:2])  # compile
            ours, acc = best_rate(_steps, (w, rising, falling), additions, args.repeats)
            ref, expected = best_rate(_numpy_steps, (w, rising, falling), additions, 1)
            differ = np.abs(acc - expected).max()
            print(
                f"| {label} | {name} | {ours:.1f} | {ref:.2f} | {ours / ref:.0f}x | {differ:.1e} |"
            )


if __name__ == "__main__":
    main()
