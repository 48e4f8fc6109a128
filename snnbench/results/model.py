"""The result model: one seed's record, and the summary file derived from the records.

`SeedRecord` is what the harness writes after each seed (OUT/<method>/<task>/seed-<n>.json):
the method and task headers, the run, and where it ran.  `ResultFile` is the summary of one
(method, task) over seeds (OUT/<method>/<task>.json): the same headers, every run, and the
statistics, which are always derived from the runs, never taken from a file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone

from snnbench.results.schema import SCHEMA_VERSION


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def mean_std(values: list[float]) -> dict:
    """Mean, sample standard deviation (0 for one value) and n."""
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return {"mean": mean, "std": math.sqrt(var), "n": n}


def efficiency_summary(runs: list[dict]) -> dict:
    """Mean, std, n of each numeric efficiency figure, over seeds, when every run measured
    it on the same split (runs made before schema version 3 did not: then none)."""
    measured = [r.get("efficiency") for r in runs]
    if not measured or None in measured or len({e["split"] for e in measured}) != 1:
        return {}
    figures = [k for k, v in measured[0].items() if isinstance(v, (int, float))]
    return {
        k: mean_std([e[k] for e in measured])
        for k in figures
        if all(isinstance(e.get(k), (int, float)) for e in measured)
    }


def summarize(runs: list[dict]) -> dict:
    """Per split and metric, and for spikes, times and efficiency: mean, std, n over seeds."""
    metrics: dict[str, dict] = {}
    for split in runs[0]["metrics"]:
        metrics[split] = {
            m: mean_std([r["metrics"][split][m] for r in runs]) for m in runs[0]["metrics"][split]
        }
    efficiency = efficiency_summary(runs)
    return {
        "metrics": metrics,
        "spikes_per_sample": mean_std([r["spikes"]["per_sample"] for r in runs]),
        "spikes_per_neuron_per_step": mean_std([r["spikes"]["per_neuron_per_step"] for r in runs]),
        "train_seconds": mean_std([r["train_seconds"] for r in runs]),
        "eval_seconds": mean_std([r["eval_seconds"] for r in runs]),
    } | ({"efficiency": efficiency} if efficiency else {})


@dataclass(frozen=True)
class SeedRecord:
    """One seed of one method on one task, as the harness wrote it."""

    method: dict
    task: dict
    run: dict
    environment: dict
    created: str

    @property
    def seed(self) -> int:
        return self.run["seed"]

    def to_document(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "record": "seed",
            "method": self.method,
            "task": self.task,
            "run": self.run,
            "environment": self.environment,
            "created": self.created,
        }

    @classmethod
    def from_document(cls, doc: dict) -> SeedRecord:
        return cls(doc["method"], doc["task"], doc["run"], doc["environment"], doc["created"])


@dataclass(frozen=True)
class ResultFile:
    """One method on one task over seeds; `summary` is derived from `runs`."""

    method: dict
    task: dict
    runs: list[dict]
    environment: dict
    created: str

    @property
    def seeds(self) -> list[int]:
        return [r["seed"] for r in self.runs]

    @property
    def summary(self) -> dict:
        return summarize(self.runs)

    @property
    def spiking(self) -> bool:
        return all(r["model"]["spiking"] for r in self.runs)

    def run(self, seed: int) -> dict | None:
        return next((r for r in self.runs if r["seed"] == seed), None)

    def records(self) -> list[SeedRecord]:
        """The runs as seed records (a summary without record files, e.g. a committed one)."""
        return [
            SeedRecord(self.method, self.task, r, self.environment, self.created) for r in self.runs
        ]

    def to_document(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "method": self.method,
            "task": self.task,
            "seeds": self.seeds,
            "runs": self.runs,
            "summary": self.summary,
            "environment": self.environment,
            "created": self.created,
        }

    @classmethod
    def from_document(cls, doc: dict) -> ResultFile:
        return cls(doc["method"], doc["task"], doc["runs"], doc["environment"], doc["created"])

    @classmethod
    def from_records(cls, records: list[SeedRecord]) -> ResultFile:
        """The summary of records of one (method, task): runs by seed, the newest record's
        environment (every record keeps its own in its file)."""
        ordered = sorted(records, key=lambda r: r.seed)
        newest = max(records, key=lambda r: r.created)
        return cls(
            ordered[0].method,
            ordered[0].task,
            [r.run for r in ordered],
            newest.environment,
            newest.created,
        )
