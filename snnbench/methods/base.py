"""The method API: what a training method receives and what it must return.

A method gets the train and val splits of one task (never test), one config (a grid point)
and a seed, and returns a trained model.  It computes no reported metric: the harness scores
every model, picks the grid point on val, and evaluates the chosen model on test and OOD.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterator

from snnbench.config import ResolvedConfig, read_config, resolve
from snnbench.models.lif import LIFNetwork, LIFSpec
from snnbench.tasks.base import Split, Task

ProgressFn = Callable[[int, int], None]  # (done, total) within one fit


@dataclass
class FitData:
    """What a method may train and select on."""

    task: Task
    train: Split
    val: Split
    progress: ProgressFn = field(default=lambda done, total: None)


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
    """Subclass, set the class attributes, implement `fit`; register via the entry point."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ""
    paper: ClassVar[str | None] = None
    config_resource: ClassVar[str]  # "package:path/to/config.toml"

    def config(self, preset: str, task: Task) -> ResolvedConfig:
        return resolve(read_config(self.config_resource), preset, task.family)

    @abstractmethod
    def fit(self, data: FitData, config: dict, seed: int) -> LIFNetwork:
        """Train on data.train (data.val only for early stopping); return the network."""

    def fit_grid(self, data: FitData, configs: list[dict], seed: int) -> Iterator[tuple[dict, LIFNetwork]]:
        """One model per grid point; override to share work along a path (warm starts)."""
        for config in configs:
            yield config, self.fit(data, config, seed)


def network_spec(task: Task, config: dict) -> LIFSpec:
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
