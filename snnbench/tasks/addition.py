"""add: multi-base addition digit by digit, least significant first, carry fed back.

Protocol of the recon paper: at step t < n the input is [a_t, b_t, c_t] / (base - 1) with
c_t the carry into step t, and at t = n it is [0, 0, c_n] / (base - 1).  Targets per step are
the sum digit and the carry out.  This task scores autoregressively (`score_autoregressive`):
the model's own predicted carry is written into the carry channel of the next step, through
the same encoding (`step_inputs`) that built the teacher-forced inputs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from snnbench.tasks.base import RECON_PAPER, Split, Task
from snnbench.tasks.protocol import SplitScore, check_logits, head_predictions
from snnbench.tasks.random import task_rng, uniform_ints

if TYPE_CHECKING:
    import torch

    from snnbench.tasks.protocol import Model

IN_DISTRIBUTION_DIGITS = 5
# split name -> (number of sequences, number of digits n); T = n + 1.  Drawn in this order.
SPLITS = {
    "train": (2304, 5),
    "val": (512, 5),
    "test": (1024, 5),
    "ood-2x": (1024, 10),
    "ood-5x": (1024, 25),
    "ood-10x": (1024, 50),
}
DISPLAY_ORDER = ("test", "ood-2x", "ood-5x", "ood-10x", "val", "train")
METRICS = (
    "token_accuracy",
    "sequence_accuracy",
    "sum_token_accuracy",
    "carry_token_accuracy",
    "teacher_forced_token_accuracy",
)


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


def step_inputs(a_t: np.ndarray, b_t: np.ndarray, carry_t: np.ndarray, base: int) -> np.ndarray:
    """The input of one step, (n, 3) float32 [a_t, b_t, c_t] / (base - 1): the one encoding."""
    return np.stack([a_t, b_t, carry_t], 1).astype(np.float32) / np.float32(base - 1)


def operands_at(a: np.ndarray, b: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray]:
    """The digits presented at step t: a_t, b_t, or zeros at the last step t = n."""
    if t < a.shape[1]:
        return a[:, t], b[:, t]
    zeros = np.zeros(a.shape[0], dtype=a.dtype)
    return zeros, zeros


def encode(a: np.ndarray, b: np.ndarray, carry_in: np.ndarray, base: int) -> np.ndarray:
    """(n, digits + 1, 3) teacher-forced inputs: the true carry in the carry channel."""
    steps = range(a.shape[1] + 1)
    return np.stack([step_inputs(*operands_at(a, b, t), carry_in[:, t], base) for t in steps], 1)


def build(task: Task, data_dir: str | None = None) -> dict[str, Split]:
    base = task.params["base"]
    bits = task_rng(task.family, base, task.version)
    splits = {}
    for name, (n, digits) in SPLITS.items():
        a = uniform_ints(bits, n * digits, base).reshape(n, digits)
        b = uniform_ints(bits, n * digits, base).reshape(n, digits)
        carry_in, targets = add_digits(a, b, base)
        splits[name] = Split(name, encode(a, b, carry_in, base), targets, {"a": a, "b": b})
    return splits


def autoregressive_predictions(
    task: Task, model: Model, split: Split
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(pred_sum, pred_carry, spikes, inputs (n, T, n_in)) with the model's own carry fed back
    at every step."""
    import torch

    a, b = split.extras["a"], split.extras["b"]
    n, digits = a.shape
    state = model.init_state(n)
    carry = np.zeros(n, dtype=np.int64)
    spikes = torch.zeros(n, dtype=torch.int64)
    sums, carries, inputs = [], [], []
    for t in range(digits + 1):
        x_t = torch.from_numpy(step_inputs(*operands_at(a, b, t), carry, task.params["base"]))
        inputs.append(x_t)
        state, logits, count = model.step(state, x_t)
        check_logits(logits, (n, task.n_out))
        pred_sum, pred_carry = head_predictions(logits, task.heads)
        carry = pred_carry.numpy()
        sums.append(pred_sum)
        carries.append(pred_carry)
        spikes += count
    return torch.stack(sums, 1), torch.stack(carries, 1), spikes, torch.stack(inputs, 1)


def score_autoregressive(task: Task, model: Model, split: Split) -> SplitScore:
    """Token metrics with the predicted carry fed back; teacher-forced token accuracy as a
    diagnostic (true carries in the carry channel)."""
    from snnbench.metrics import token_metrics

    pred_sum, pred_carry, spikes, inputs = autoregressive_predictions(task, model, split)
    metrics = token_metrics(pred_sum, pred_carry, split.targets())
    teacher = check_logits(model.run(split.inputs()).logits, (len(split), split.steps, task.n_out))
    tf = token_metrics(*head_predictions(teacher, task.heads), split.targets())
    metrics["teacher_forced_token_accuracy"] = tf["token_accuracy"]
    return SplitScore(metrics, spikes.double().mean().item(), inputs, "step")


# token accuracy by split (recon paper, via docs/tasks.md); base 2 has none
PUBLISHED = {
    3: {"test": 0.366, "ood-2x": 0.314, "ood-5x": 0.307, "ood-10x": 0.310},
    5: {"test": 0.230, "ood-2x": 0.188, "ood-5x": 0.173, "ood-10x": 0.172},
}


def make_task(base: int) -> Task:
    return Task(
        id=f"add-b{base}",
        family="add",
        version="v1",
        kind="token",
        n_in=3,
        steps=IN_DISTRIBUTION_DIGITS + 1,
        heads=(("sum", base), ("carry", 2)),
        splits=DISPLAY_ORDER,
        metrics=METRICS,
        description=f"base-{base} addition of 5-digit operands, carry fed back; "
        "OOD at 10/25/50 digits",
        card="add.md",
        builder=build,
        scorer=score_autoregressive,
        split_steps={name: digits + 1 for name, (_, digits) in SPLITS.items()},
        params={"base": base},
        published=PUBLISHED.get(base, {}),
        published_source=RECON_PAPER if base in PUBLISHED else "",
    )
