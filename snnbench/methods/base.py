"""The method API: what a training method receives and what it must return.

A method gets a data-free description of one task and read-only copies of its train and val
splits (never test or OOD), one config (a grid point) and a seed.  It returns a `Fit`: its
trained network as plain data (spec and weights) and free-form `info` about the fit.  It
computes no reported metric: the harness rebuilds a canonical network from the spec and the
weights, scores it, picks the grid point on val, and evaluates the pick on test and OOD.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import torch
from torch import nn

from snnbench.checkpoints import Checkpoints
from snnbench.config import ResolvedConfig, read_config, resolve
from snnbench.models.lif import LIFSpec
from snnbench.tasks.base import Split, TaskInfo

ProgressFn = Callable[[int, int], None]  # (done, total) within one fit


@dataclass(frozen=True)
class FitData:
    """What a method may train and select on: no loader, no test split, arrays read-only."""

    task: TaskInfo
    train: Split
    val: Split
    progress: ProgressFn = field(default=lambda done, total: None)
    # where a long fit saves its state to resume mid-fit (the harness owns the folder)
    checkpoints: Checkpoints = field(default_factory=Checkpoints)


@dataclass(frozen=True)
class Fit:
    """A trained network as plain data, and what the method reports about its fit.

    spec: the network's spec as a dict (`LIFSpec.to_dict()`, or a GRU spec for the ANN
    reference); weights: every parameter by its state-dict name; info: JSON-serialisable
    facts of the fit (certificates, pruning, traces), recorded but never scored.
    """

    spec: dict
    weights: dict[str, torch.Tensor]
    info: dict | None = None

    @classmethod
    def of(cls, network: nn.Module, info: dict | None = None) -> Fit:
        """The plain-data form of a canonical network (or of a twin exposing the same spec)."""
        weights = {k: v.detach().clone() for k, v in network.state_dict().items()}
        return cls(network.spec.to_dict(), weights, info)


@dataclass
class BestOnVal:
    """Keeps the best val state of an iterative fit, and says when to stop.

    Shared by every method that trains in rounds (the sg recipe, admm) so that "keep the best
    val state, stop after `patience` rounds without a better one or at a perfect score" means
    the same everywhere.  `state` is what the method wants back (a state dict, a network).
    """

    patience: int
    state: Any = None
    best: float = -1.0
    stale: int = 0

    def offer(self, score: float, state: Callable[[], Any]) -> None:
        """A round's val score; `state()` is only called (copied) when it is a new best."""
        if score > self.best:
            self.best, self.state, self.stale = score, state(), 0
        else:
            self.stale += 1

    @property
    def done(self) -> bool:
        return self.best == 1.0 or self.stale >= self.patience


class Method(ABC):
    """Subclass, set the class attributes, implement `fit`; register via the entry point.

    `name` must equal the entry-point name the method is registered under: the entry point is
    the method's identity and the folder of its results.
    """

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    # what each version changed (numbers it moved included); shown on the method's site page
    changelog: ClassVar[dict[str, str]] = {"1": "first version"}
    description: ClassVar[str] = ""
    paper: ClassVar[str | None] = None
    config_resource: ClassVar[str]  # "package:path/to/config.toml"

    def config(self, preset: str, task: TaskInfo) -> ResolvedConfig:
        return resolve(read_config(self.config_resource), preset, task.family)

    def check_config(self, config: ResolvedConfig) -> None:
        """Refuse settings this method cannot run (raise SnnbenchError naming the setting and
        its valid values); called on every config after `--set`, before any work.  The
        default accepts every config."""
        return None

    @abstractmethod
    def fit(self, data: FitData, config: dict, seed: int) -> Fit:
        """Train on data.train (data.val only for early stopping); return the network."""

    def fit_grid(self, data: FitData, configs: list[dict], seed: int) -> Iterator[tuple[dict, Fit]]:
        """One fit per grid point; override to share work along a path (warm starts)."""
        for config in configs:
            yield config, self.fit(data, config, seed)


def network_spec(task: TaskInfo, config: dict) -> LIFSpec:
    """The LIF network a config asks for on a task (readout over every step on token tasks)."""
    return LIFSpec(
        n_in=task.n_in,
        n_out=task.n_out,
        depth=config["depth"],
        p_rec=config["p_rec"],
        p_last=config["p_last"],
        branches=config.get("branches", 2),
        beta=config.get("beta", 0.99),
        theta=config.get("theta", 1.0),
        features=config.get("features", "spike"),
        every_step=task.kind == "token",
    )
