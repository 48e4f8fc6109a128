"""The C allocator's settings for training: keep freed memory for reuse.

A training step allocates and frees the same large tensors every step (currents, membranes,
gradients: megabytes each).  By default glibc serves such blocks with fresh mmaps, or trims
them off the heap when freed, so every step first-touches new pages: on 2 cores that was a
third of the step of the paper's first-last-xor net, and most of its run-to-run variance
(benchmarks/sg_train.py, README).  Served from the heap and kept there, the pages are reused.
The setting is process-wide, so every simulator and method in the process gets it alike; it
changes where memory comes from, never a number computed in it.
"""

from __future__ import annotations

import ctypes

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # blocks below this come from the heap (glibc's upper limit)
TRIM_THRESHOLD = 256 << 20  # free memory the heap keeps at its top before returning it


def keep_freed_memory() -> bool:
    """Serve blocks below 32 MiB from the heap and keep up to 256 MiB of freed heap; whether the
    C library took the setting (False where it is not glibc: nothing changes there)."""
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
