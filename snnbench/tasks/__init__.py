"""The registry of standard tasks: ids, families, and name resolution for the CLI.

Each task is versioned; changing a definition means a new version, and results of different
versions are never ranked together.
"""

from __future__ import annotations

from snnbench.errors import UnknownNameError, UsageError
from snnbench.tasks import addition, smnist, xor
from snnbench.tasks.base import Split, Task

__all__ = ["Split", "Task", "TASKS", "get_task", "resolve_tasks", "families"]

TASKS: dict[str, Task] = {
    t.id: t
    for t in [
        *(xor.make_task(length) for length in (6, 8, 11, 14)),
        *(addition.make_task(base) for base in (2, 3, 5)),
        *(smnist.make_task(steps, mini=False) for steps in (4, 28, 784)),
        *(smnist.make_task(steps, mini=True) for steps in (4, 28, 784)),
    ]
}


def families() -> list[str]:
    return list(dict.fromkeys(t.family for t in TASKS.values()))


def get_task(task_id: str) -> Task:
    try:
        return TASKS[task_id]
    except KeyError:
        raise UnknownNameError("task", task_id, list(TASKS)) from None


def resolve_tasks(spec: str) -> list[Task]:
    """A task id, a family name, `all`, or a comma-separated list of these."""
    chosen: dict[str, Task] = {}
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        if part == "all":
            chosen.update(TASKS)
        elif part in families():
            chosen.update({t.id: t for t in TASKS.values() if t.family == part})
        elif part in TASKS:
            chosen[part] = TASKS[part]
        else:
            raise UnknownNameError("task", part, [*TASKS, *families(), "all"])
    if not chosen:
        raise UsageError(f"--task {spec!r} names no task; give an id, a family or `all`")
    return list(chosen.values())
