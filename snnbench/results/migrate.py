"""Converters from older result-file layouts to the current one, numbers untouched.

Version 1 -> 2: the task header lists its splits (display order) and metrics (primary
first), and every run's model names its kind (lif or gru) in `model` and in `spec`; version
1 files said `spiking` for the GRU only and gave LIF specs no kind.

Version 2 -> 3: every run carries `efficiency` (snnbench/efficiency.py), which only the
harness can measure, from the trained network: runs made before version 3 get `null`, "not
measured", never an estimate.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from snnbench.results.schema import SCHEMA_VERSION


def v1_to_v2(doc: dict) -> dict:
    from snnbench.tasks import TASKS

    doc = copy.deepcopy(doc)
    task, runs = doc["task"], doc["runs"]
    registered = TASKS.get(task["id"])
    names = list(task["fingerprints"])
    if registered is not None and set(registered.splits) == set(names):
        names = list(registered.splits)
    metrics = list(runs[0]["metrics"]["test"])
    metrics.sort(key=lambda m: m != task["primary_metric"])  # stable: the primary first
    doc["task"] = {
        **{k: v for k, v in task.items() if k != "fingerprints"},
        "splits": names,
        "metrics": metrics,
        "fingerprints": task["fingerprints"],
    }
    for run in runs:
        model = run["model"]
        spec = model.get("spec", {})
        kind = spec.get("kind", "lif")
        run["model"] = {
            "kind": kind,
            "num_parameters": model["num_parameters"],
            "num_neurons": model["num_neurons"],
            "spec": {"kind": kind, **spec},
            "spiking": model.get("spiking", kind == "lif"),
        }
    doc["schema_version"] = 2
    return doc


def v2_to_v3(doc: dict) -> dict:
    doc = copy.deepcopy(doc)
    for run in [doc["run"]] if doc.get("record") == "seed" else doc["runs"]:
        run["efficiency"] = None
    doc["schema_version"] = 3
    return doc


MIGRATIONS: dict[int, Callable[[dict], dict]] = {1: v1_to_v2, 2: v2_to_v3}
assert max(MIGRATIONS) + 1 == SCHEMA_VERSION, "every older version needs a converter"


def migrate(doc: dict) -> dict:
    """doc in the current layout; doc itself (not a copy) when it already is."""
    while doc.get("schema_version") in MIGRATIONS:
        doc = MIGRATIONS[doc["schema_version"]](doc)
    return doc
