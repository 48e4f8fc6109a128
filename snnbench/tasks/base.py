"""What every task is made of: splits of arrays, their fingerprints, and the task record.

A split is plain numpy (the exact bytes are what a fingerprint proves); models see torch
tensors made from it with `Split.inputs()`.  A task owns its protocol: how a model is scored
on a split (`Task.score`), which splits are scored and in which order they are shown
(`eval_splits`), its metrics and its primary metric.  The harness, validate and the site read
these from the task and never branch on a family.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Callable, Literal

import numpy as np

if TYPE_CHECKING:
    import torch

    from snnbench.tasks.protocol import Model, SplitScore

TaskKind = Literal["sequence", "token"]
# Every task has these three; any other split is an out-of-distribution test set of the task.
FIT_SPLITS = ("train", "val")


@dataclass(frozen=True)
class Split:
    """One split of a task.

    x: (n, T, n_in) float32 inputs (teacher-forced for `add`: true carries in the carry channel).
    y: (n,) int64 labels for sequence tasks; (n, T, 2) int64 [sum digit, carry out] for `add`.
    extras: arrays the task's scoring protocol needs besides x and y (the operand digits of
    `add`, used by its autoregressive evaluation).
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

    def inputs(self) -> torch.Tensor:
        return _tensor(self.x)

    def targets(self) -> torch.Tensor:
        return _tensor(self.y)

    def subset(self, index: np.ndarray) -> Split:
        """The samples at `index` (in that order), every array alike."""
        return replace(
            self,
            x=self.x[index],
            y=self.y[index],
            extras={k: v[index] for k, v in self.extras.items()},
        )

    def read_only_copy(self) -> Split:
        """A copy whose arrays cannot be written: what a method gets (the harness keeps its own)."""

        def frozen(a: np.ndarray) -> np.ndarray:
            a = a.copy()
            a.flags.writeable = False
            return a

        return replace(
            self,
            x=frozen(self.x),
            y=frozen(self.y),
            extras={k: frozen(v) for k, v in self.extras.items()},
        )

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


def _tensor(a: np.ndarray) -> torch.Tensor:
    """A tensor sharing a writable array's memory, or a copy of a read-only one (torch tensors
    are always writable, so sharing would let a method edit data it was given read-only)."""
    import torch  # lazily: listing tasks or reporting missing data should not pay for torch

    return torch.from_numpy(a if a.flags.writeable else a.copy())


@dataclass(frozen=True)
class TaskInfo:
    """What a method may know about a task: its shape and kind, no data and no loader.

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

    @property
    def n_out(self) -> int:
        return sum(c for _, c in self.heads)


RECON_PAPER = (
    "recon paper, best published test scores (docs/tasks.md); some of its arithmetic "
    "settings were picked on test, snnbench selects on val only"
)

# How a task scores a model on one of its splits (see snnbench/tasks/protocol.py).
Scorer = Callable[["Task", "Model", Split], "SplitScore"]


@dataclass(frozen=True)
class Task(TaskInfo):
    """A versioned task definition; `load` builds every split, identically everywhere.

    splits: every split in display order: test first, then the out-of-distribution splits,
    then val and train.  split_steps: the sequence length of each split where it is not
    `steps` (the OOD lengths of `add`), used to plot scores against length.
    metrics: every metric `score` reports, the primary one first.
    """

    splits: tuple[str, ...]
    metrics: tuple[str, ...]
    description: str
    card: str
    builder: Callable[..., dict[str, Split]] = field(repr=False, compare=False)
    scorer: Scorer = field(repr=False, compare=False)
    needs_data: bool = False
    data_source: str = "generated"
    # raises DataError at once when the data cannot be had (cheap; run before heavy imports)
    check_data: Callable[[str | None], None] | None = field(default=None, repr=False, compare=False)
    split_steps: dict[str, int] = field(default_factory=dict, compare=False)
    params: dict = field(default_factory=dict, compare=False)
    # the best published score of the primary metric (a fraction) by split, and where it is
    # from: shown beside ours on the site and in the docs, never ranked with ours
    published: dict[str, float] = field(default_factory=dict, compare=False)
    published_source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        missing = {"test", *FIT_SPLITS} - set(self.splits)
        if missing:
            raise ValueError(f"task {self.id} lacks the splits {sorted(missing)}")
        if set(self.published) - set(self.splits) or (self.published and not self.published_source):
            raise ValueError(f"task {self.id}: published numbers need known splits and a source")

    @property
    def primary_metric(self) -> str:
        return self.metrics[0]

    @property
    def eval_splits(self) -> tuple[str, ...]:
        """Every split the harness scores a chosen model on (all but train), in display order."""
        return tuple(s for s in self.splits if s != "train")

    @property
    def ood_splits(self) -> tuple[str, ...]:
        return tuple(s for s in self.splits if s not in ("test", *FIT_SPLITS))

    def length(self, split: str) -> int:
        """The sequence length T of a split."""
        return self.split_steps.get(split, self.steps)

    @property
    def info(self) -> TaskInfo:
        """The data-free description a method gets (a TaskInfo, not this Task)."""
        return TaskInfo(**{f.name: getattr(self, f.name) for f in fields(TaskInfo)})

    def load(self, data_dir: str | None = None) -> dict[str, Split]:
        splits = self.builder(self, data_dir=data_dir)
        missing = set(self.splits) - set(splits)
        assert not missing, f"task {self.id} builder did not make splits {missing}"
        return splits

    def score(self, model: Model, split: Split) -> SplitScore:
        """Score a canonical network on one split by this task's protocol."""
        return self.scorer(self, model, split)
