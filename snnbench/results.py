"""Result files: one JSON per (method, task) at DIR/<method>/<task>.json.

The file is rewritten atomically after every finished seed, so an interrupted run loses at
most the seed in progress and resumes from the others.  `summary` is derived from `runs`.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

SCHEMA_VERSION = 1


def result_path(out_dir: str | Path, method: str, task_id: str) -> Path:
    return Path(out_dir) / method / f"{task_id}.json"


def mean_std(values: list[float]) -> dict:
    """Mean, sample standard deviation (0 for one value) and n."""
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return {"mean": mean, "std": math.sqrt(var), "n": n}


def summarize(runs: list[dict]) -> dict:
    """Per split and metric, and for spikes and times: mean, std, n over seeds."""
    metrics: dict[str, dict] = {}
    for split in runs[0]["metrics"]:
        metrics[split] = {
            m: mean_std([r["metrics"][split][m] for r in runs]) for m in runs[0]["metrics"][split]
        }
    return {
        "metrics": metrics,
        "spikes_per_sample": mean_std([r["spikes"]["per_sample"] for r in runs]),
        "spikes_per_neuron_per_step": mean_std([r["spikes"]["per_neuron_per_step"] for r in runs]),
        "train_seconds": mean_std([r["train_seconds"] for r in runs]),
        "eval_seconds": mean_std([r["eval_seconds"] for r in runs]),
    }


def build_document(header: dict, runs: list[dict], environment: dict) -> dict:
    runs = sorted(runs, key=lambda r: r["seed"])
    return {
        "schema_version": SCHEMA_VERSION,
        **header,
        "seeds": [r["seed"] for r in runs],
        "runs": runs,
        "summary": summarize(runs),
        "environment": environment,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def write_atomic(path: Path, document: dict) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(document, f, indent=2, sort_keys=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a result file is for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
