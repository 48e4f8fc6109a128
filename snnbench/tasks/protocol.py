"""Scoring protocols shared by task families, and what a score of one split is.

A task family plugs one of these (or its own, like `add`'s autoregressive protocol in
addition.py) into its `Task.scorer`.  torch is imported inside the functions, so that listing
tasks or reporting missing data stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from snnbench.errors import MethodOutputError

if TYPE_CHECKING:
    import torch

    from snnbench.models.gru import GRUNetwork
    from snnbench.models.lif import LIFNetwork
    from snnbench.tasks.base import Split, Task

# What the harness scores: the canonical LIF network, or the GRU of the ANN reference line,
# always rebuilt by the harness from a spec and weights (snnbench/models/canonical.py).
Model = Union["LIFNetwork", "GRUNetwork"]


@dataclass(frozen=True)
class SplitScore:
    metrics: dict[str, float]
    spikes_per_sample: float
    # (n, T, n_in): the inputs the network was driven by, which the protocol decides (the
    # split's own, or with the network's outputs fed back); the harness replays them to
    # measure efficiency (snnbench/efficiency.py)
    inputs: torch.Tensor
    # the path that drove it, which the replay takes too: "run" (the fast path) or "step"
    replay: str = "run"


def check_logits(logits: torch.Tensor, expected: tuple[int, ...]) -> torch.Tensor:
    """The model's logits, refused unless they have the expected shape and are finite."""
    import torch

    if tuple(logits.shape) != expected:
        raise MethodOutputError(
            f"the network produced logits of shape {tuple(logits.shape)}, expected {expected}"
        )
    if not torch.isfinite(logits).all():
        raise MethodOutputError("the network produced non-finite logits")
    return logits


def head_predictions(
    logits: torch.Tensor, heads: tuple[tuple[str, int], ...]
) -> list[torch.Tensor]:
    """Argmax of each head's slice of the logits."""
    preds, start = [], 0
    for _, classes in heads:
        preds.append(logits[..., start : start + classes].argmax(-1))
        start += classes
    return preds


def score_sequence(task: Task, model: Model, split: Split) -> SplitScore:
    """One label per sequence, read at t = T: accuracy."""
    from snnbench.metrics import accuracy

    out = model.run(split.inputs())
    logits = check_logits(out.logits, (len(split), task.n_out))
    return SplitScore(
        {"accuracy": accuracy(logits.argmax(-1), split.targets())},
        out.spikes.double().mean().item(),
        split.inputs(),
        "run",
    )
