"""add: multi-base addition digit by digit, least significant first, carry fed back.

Protocol of the recon paper: at step t < n the input is [a_t, b_t, c_t] / (base - 1) with
c_t the carry into step t, and at t = n it is [0, 0, c_n] / (base - 1).  Targets per step are
the sum digit and the carry out.  The harness evaluates autoregressively: the model's own
predicted carry is written into the carry channel of the next step.
"""

from __future__ import annotations

import numpy as np

from snnbench.tasks.base import Split, Task
from snnbench.tasks.random import task_rng, uniform_ints

IN_DISTRIBUTION_DIGITS = 5
# split name -> (number of sequences, number of digits n); T = n + 1.
SPLITS = {
    "train": (2304, 5),
    "val": (512, 5),
    "test": (1024, 5),
    "ood-2x": (1024, 10),
    "ood-5x": (1024, 25),
    "ood-10x": (1024, 50),
}


def add_digits(a: np.ndarray, b: np.ndarray, base: int) -> tuple[np.ndarray, np.ndarray]:
    """Carries into each step (n, digits + 1) and targets (n, digits + 1, 2) [sum, carry out].

    The last step adds 0 + 0 + the final carry, so its sum digit is the final carry and its
    carry out is 0.
    """
    n, digits = a.shape
    carry_in = np.zeros((n, digits + 1), dtype=np.int64)
    targets = np.zeros((n, digits + 1, 2), dtype=np.int64)
    for t in range(digits):
        total = a[:, t] + b[:, t] + carry_in[:, t]
        targets[:, t, 0] = total % base
        targets[:, t, 1] = total // base
        carry_in[:, t + 1] = total // base
    targets[:, digits, 0] = carry_in[:, digits]
    return carry_in, targets


def encode(a: np.ndarray, b: np.ndarray, carry_in: np.ndarray, base: int) -> np.ndarray:
    """(n, digits + 1, 3) float32 inputs [a_t, b_t, c_t] / (base - 1), last step [0, 0, c_n]."""
    n, digits = a.shape
    raw = np.zeros((n, digits + 1, 3), dtype=np.int64)
    raw[:, :digits, 0] = a
    raw[:, :digits, 1] = b
    raw[:, :, 2] = carry_in
    return raw.astype(np.float32) / np.float32(base - 1)


def build(task: Task, data_dir: str | None = None) -> dict[str, Split]:
    base = task.params["base"]
    bits = task_rng(task.family, base, task.version)
    splits = {}
    for name in task.splits:
        n, digits = SPLITS[name]
        a = uniform_ints(bits, n * digits, base).reshape(n, digits)
        b = uniform_ints(bits, n * digits, base).reshape(n, digits)
        carry_in, targets = add_digits(a, b, base)
        splits[name] = Split(name, encode(a, b, carry_in, base), targets, {"a": a, "b": b})
    return splits


def make_task(base: int) -> Task:
    return Task(
        id=f"add-b{base}",
        family="add",
        version="v1",
        kind="token",
        n_in=3,
        steps=IN_DISTRIBUTION_DIGITS + 1,
        heads=(("sum", base), ("carry", 2)),
        splits=tuple(SPLITS),
        primary_metric="token_accuracy",
        description=f"base-{base} addition of 5-digit operands, carry fed back; OOD at 10/25/50 digits",
        card="add.md",
        builder=build,
        params={"base": base},
    )
