"""Tools for method authors: what the harness gives a method and builds from what it returns.

`fit_data` makes the `FitData` the harness would give a method for a task, and `network`
builds the canonical network the harness would score from a `Fit`; both are what our own
tests use.
"""

from __future__ import annotations

from snnbench.harness import checked_fit
from snnbench.methods.base import Fit, FitData
from snnbench.tasks.base import Split, Task
from snnbench.tasks.protocol import Model


def fit_data(task: Task, splits: dict[str, Split] | None = None) -> FitData:
    """Read-only copies of train and val and the task's data-free description, as in the harness."""
    splits = splits if splits is not None else task.load()
    return FitData(task.info, splits["train"].read_only_copy(), splits["val"].read_only_copy())


def network(fit: Fit, task: Task) -> Model:
    """The canonical network the harness rebuilds from a method's Fit (and scores)."""
    return checked_fit(fit, task, "under test")[0]
