"""`snnbench evaluate`: run a method on a task over seeds, resumably, into result files.

Each finished seed is written at once as its own record and the summary is rebuilt from the
records (snnbench/results/store.py), so an interrupted run loses at most the work since its
seed's last mid-fit checkpoint (snnbench/checkpoints.py) and concurrent runs of other seeds
lose nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from snnbench.checkpoints import Checkpoints, run_identity
from snnbench.config import ResolvedConfig
from snnbench.environment import environment
from snnbench.errors import StaleResultsError, UsageError
from snnbench.harness import run_seed
from snnbench.methods import Method, get_method
from snnbench.results import ResultFile, ResultStore, SeedRecord, now
from snnbench.results.networks import network_bytes, network_entry
from snnbench.tasks.base import Task

# (seed, done, total) within the current seed's training; the CLI draws it as a progress bar.
SeedProgress = Callable[[int, int, int], None]


def plan(
    method_name: str, task: Task, preset: str, overrides: dict | None
) -> tuple[Method, ResolvedConfig]:
    """The method and the config it will run on a task; every input error is raised here,
    before any data is loaded or any seed trains."""
    method = get_method(method_name)
    resolved = method.config(preset, task.info).with_overrides(overrides or {})
    method.check_config(resolved)
    return method, resolved


def check_output_folder(out: Path) -> None:
    """Create OUT if missing and prove it writable now, not after the first seed has trained."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".snnbench-write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"--out {out} is not writable: {exc.strerror}") from None


def headers(
    method_name: str,
    method: Method,
    preset: str,
    config: ResolvedConfig,
    task: Task,
    fingerprints: dict[str, str],
) -> tuple[dict, dict]:
    """The method and task headers every record and summary of this run carries."""
    method_header = {
        "name": method_name,
        "version": method.version,
        "description": method.description,
        "paper": method.paper,
        "preset": preset,
        "config": config.settings,
        "grid": config.grid,
    }
    task_header = {
        "id": task.id,
        "family": task.family,
        "version": task.version,
        "primary_metric": task.primary_metric,
        "splits": list(task.splits),
        "metrics": list(task.metrics),
        "fingerprints": fingerprints,
    }
    return json.loads(json.dumps(method_header)), task_header


@dataclass(frozen=True)
class Prepared:
    """One (method, task) ready to run: its config, data, headers and the records it has."""

    method: Method
    config: ResolvedConfig
    splits: dict
    method_header: dict
    task_header: dict
    store: ResultStore
    records: list[SeedRecord]

    @property
    def finished(self) -> set[int]:
        return {r.seed for r in self.records}


def prepare(
    method_name: str,
    task: Task,
    preset: str = "paper",
    out_dir: str | Path = "results",
    data_dir: str | None = None,
    overrides: dict | None = None,
) -> Prepared:
    """Load the data, build the headers, and read the records to resume from: refused unless
    they validate and were made with the same method and task definition."""
    method, resolved = plan(method_name, task, preset, overrides)
    splits = task.load(data_dir)
    fingerprints = {n: s.fingerprint() for n, s in splits.items()}
    method_header, task_header = headers(method_name, method, preset, resolved, task, fingerprints)
    store = ResultStore(out_dir, method_name, task.id)
    records = store.existing(data_dir)
    for record in records:
        for key, header in (("method", method_header), ("task", task_header)):
            if getattr(record, key) != header:
                raise StaleResultsError(
                    f"{store.summary} holds results for a different {key} definition (config, "
                    "preset, version or data); pass --force (or --stale rerun) to replace it, "
                    "--stale skip to leave it, or --out to write elsewhere"
                )
    return Prepared(method, resolved, splits, method_header, task_header, store, records)


def evaluate(
    method_name: str,
    task: Task,
    seeds: list[int],
    preset: str = "paper",
    out_dir: str | Path = "results",
    data_dir: str | None = None,
    force: bool = False,
    progress: SeedProgress = lambda seed, done, total: None,
    overrides: dict | None = None,
) -> ResultFile:
    """Run the seeds not yet recorded; write each seed's record as soon as it is done.

    `overrides` (`--set key=value`) replace settings or grids of the preset; only keys the
    method's config has can be set, the method checks the values, and they are recorded in
    the result file.  The result path comes from the registered name `method_name` only.
    """
    if force:
        ResultStore(out_dir, method_name, task.id).clear()
    ready = prepare(method_name, task, preset, out_dir, data_dir, overrides)
    result = ResultFile.from_records(ready.records) if ready.records else None
    candidates = ready.config.candidates()
    saved: list[bytes] = []  # the scored network of the seed in progress, as safetensors

    def keep(model) -> dict:
        saved.append(network_bytes(model))
        return network_entry(saved[-1])

    for seed in (s for s in seeds if s not in ready.finished):
        identity = run_identity(ready.method_header, ready.task_header, seed)
        checkpoints = Checkpoints(ready.store.resume_path(seed), identity)
        run = run_seed(
            ready.method,
            method_name,
            task,
            ready.splits,
            candidates,
            sorted(ready.config.grid),
            seed,
            lambda d, t, s=seed: progress(s, d, t),
            keep,
            checkpoints,
        )
        record = SeedRecord(ready.method_header, ready.task_header, run, environment(), now())
        result = ready.store.write(record, saved.pop())
        checkpoints.discard()
    if result is None:
        raise UsageError("no seeds to run")
    return result
