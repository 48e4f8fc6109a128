"""The quick grid that the job executors are checked on, and how its runs are compared: two
methods x two tasks x two seeds, each run minus its wall times (which never repeat)."""

from __future__ import annotations

import json
from pathlib import Path

GRID = [
    "--method",
    "recon,sg",
    "--task",
    "first-last-xor-t6,add-b2",
    "--seeds",
    "0,1",
    "--preset",
    "quick",
]


def without_times(value):
    """value with every wall-clock field (a key ending in 'seconds') removed, at any depth."""
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items() if not k.endswith("seconds")}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


def runs(out: Path) -> dict:
    """Per (method, task, seed): everything a run reports but its wall times."""
    return {
        str(path.relative_to(out)): without_times(json.loads(path.read_text())["run"])
        for path in sorted(out.glob("*/*/seed-*.json"))
    }
