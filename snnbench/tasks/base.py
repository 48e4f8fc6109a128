"""What every task is made of: splits of arrays, their fingerprints, and the task record.

A split is plain numpy (the exact bytes are what a fingerprint proves); models see torch
tensors made from it with `Split.inputs()`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Literal

import numpy as np

if TYPE_CHECKING:
    import torch

TaskKind = Literal["sequence", "token"]


@dataclass(frozen=True)
class Split:
    """One split of a task.

    x: (n, T, n_in) float32 inputs (teacher-forced for `add`: true carries in the carry channel).
    y: (n,) int64 labels for sequence tasks; (n, T, 2) int64 [sum digit, carry out] for `add`.
    extras: arrays a method or the harness may need besides x and y (the operand digits of
    `add`, used by the autoregressive evaluation).
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def steps(self) -> int:
        return int(self.x.shape[1])

    def inputs(self) -> "torch.Tensor":
        import torch  # lazily: listing tasks or reporting missing data should not pay for torch

        return torch.from_numpy(self.x)

    def targets(self) -> "torch.Tensor":
        import torch

        return torch.from_numpy(self.y)

    def fingerprint(self) -> str:
        """sha256 over names, dtypes, shapes and little-endian bytes of every array."""
        h = hashlib.sha256()
        arrays = {"x": self.x, "y": self.y, **self.extras}
        for key in sorted(arrays):
            a = np.ascontiguousarray(arrays[key])
            a = a.astype(a.dtype.newbyteorder("<"), copy=False)
            h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
            h.update(a.tobytes())
        return h.hexdigest()


@dataclass(frozen=True)
class Task:
    """A versioned task definition; `load` builds every split, identically everywhere.

    heads: output heads as (name, number of classes); sequence tasks have one head "label",
    `add` has "sum" (base classes) and "carry" (2 classes).
    """

    id: str
    family: str
    version: str
    kind: TaskKind
    n_in: int
    steps: int
    heads: tuple[tuple[str, int], ...]
    splits: tuple[str, ...]
    primary_metric: str
    description: str
    card: str
    builder: Callable[..., dict[str, Split]] = field(repr=False, compare=False)
    needs_data: bool = False
    # raises DataError at once when the data cannot be had (cheap; run before heavy imports)
    check_data: Callable[[str | None], None] | None = field(default=None, repr=False, compare=False)
    params: dict = field(default_factory=dict, compare=False)

    @property
    def n_out(self) -> int:
        return sum(c for _, c in self.heads)

    @property
    def eval_splits(self) -> tuple[str, ...]:
        """Every split the harness scores: all but train."""
        return tuple(s for s in self.splits if s != "train")

    def load(self, data_dir: str | None = None) -> dict[str, Split]:
        splits = self.builder(self, data_dir=data_dir)
        missing = set(self.splits) - set(splits)
        assert not missing, f"task {self.id} builder did not make splits {missing}"
        return splits
