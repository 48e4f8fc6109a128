"""first-last-xor: the label is the XOR of the first and the last bit of a binary string.

The network must carry the first bit through T steps of leaky, resetting neurons.
"""

from __future__ import annotations

import numpy as np

from snnbench.tasks.base import RECON_PAPER, Split, Task
from snnbench.tasks.protocol import score_sequence
from snnbench.tasks.random import permutation, task_rng, uniform_ints

SPLIT_SIZES = {"train": 2000, "val": 2000, "test": 4000}  # drawn in this order


def xor_strings(bits: np.random.PCG64, n: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """n strings with exactly n//2 of each label; first and middle bits uniform.

    Drawing the label from a balanced shuffle and setting the last bit to first XOR label
    keeps every string uniform given its label while making the split exactly 50/50.
    """
    labels = (permutation(bits, n) % 2).astype(np.int64)
    strings = uniform_ints(bits, n * length, 2).reshape(n, length)
    strings[:, -1] = strings[:, 0] ^ labels
    return strings, labels


def one_hot(strings: np.ndarray) -> np.ndarray:
    """(n, T) bits -> (n, T, 2) float32 one-hot inputs."""
    return np.eye(2, dtype=np.float32)[strings]


def build(task: Task, data_dir: str | None = None) -> dict[str, Split]:
    """All splits from one generator, in the fixed order train, val, test (disjoint draws)."""
    bits = task_rng(task.family, task.steps, task.version)
    splits = {}
    for name, size in SPLIT_SIZES.items():
        strings, labels = xor_strings(bits, size, task.steps)
        splits[name] = Split(name, one_hot(strings), labels)
    return splits


def make_task(length: int) -> Task:
    return Task(
        id=f"first-last-xor-t{length}",
        family="first-last-xor",
        version="v1",
        kind="sequence",
        n_in=2,
        steps=length,
        heads=(("label", 2),),
        splits=("test", "val", "train"),
        metrics=("accuracy",),
        description=f"label = first bit XOR last bit of a uniform binary string of length {length}",
        card="first-last-xor.md",
        builder=build,
        scorer=score_sequence,
        published={"test": 1.0},
        published_source=RECON_PAPER,
    )
