"""Random draws whose bytes are the same for every numpy version and machine.

numpy only promises a stable stream for the bit generator itself (NEP 19), not for
`Generator.integers` and friends, so task data is drawn from raw PCG64 words.
"""

from __future__ import annotations

import hashlib

import numpy as np


def task_rng(*key: object) -> np.random.PCG64:
    """A PCG64 seeded from a readable key such as ("add", 3, "v1")."""
    digest = hashlib.sha256("/".join(map(str, key)).encode()).digest()
    return np.random.PCG64(int.from_bytes(digest[:16], "little"))


def _bounded(bits: np.random.PCG64, highs: np.ndarray) -> np.ndarray:
    """One draw uniform on [0, highs[i]) per entry, by rejection on raw words (no bias)."""
    highs = highs.astype(np.uint64)
    # Largest multiple of high that fits in 64 bits, minus one: accept raw <= limit.
    limits = np.uint64(2**64 - 1) - (np.uint64(2**64 - 1) % highs + np.uint64(1)) % highs
    out = np.empty(highs.size, dtype=np.uint64)
    pending = np.arange(highs.size)
    while pending.size:
        raw = bits.random_raw(pending.size).astype(np.uint64)
        ok = raw <= limits[pending]
        out[pending[ok]] = raw[ok] % highs[pending[ok]]
        pending = pending[~ok]
    return out.astype(np.int64)


def uniform_ints(bits: np.random.PCG64, size: int, high: int) -> np.ndarray:
    """`size` integers uniform on [0, high)."""
    return _bounded(bits, np.full(size, high, dtype=np.uint64))


def permutation(bits: np.random.PCG64, n: int) -> np.ndarray:
    """A uniform permutation of range(n): Fisher-Yates with draws j_i ~ U[0, i]."""
    perm = np.arange(n, dtype=np.int64)
    draws = _bounded(bits, np.arange(n, 1, -1, dtype=np.uint64))  # highs i + 1, i = n-1..1
    for i, j in zip(range(n - 1, 0, -1), draws.tolist(), strict=False):
        perm[i], perm[j] = perm[j], perm[i]
    return perm
