"""`snnbench evaluate`: run a method on a task over seeds, resumably, into a result file."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from snnbench.config import ResolvedConfig
from snnbench.environment import environment
from snnbench.errors import ResultFileError, UsageError
from snnbench.harness import run_seed
from snnbench.methods import Method, get_method
from snnbench.results import build_document, result_path, write_atomic
from snnbench.tasks.base import Task
from snnbench.validate import schema_validator

# (seed, done, total) within the current seed's training; the CLI draws it as a progress bar.
SeedProgress = Callable[[int, int, int], None]


def read_result(path: Path) -> dict:
    """An existing result file to resume from; anything but a valid one is an error."""
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultFileError(
            f"{path}: cannot read result file ({exc}); fix or delete it, or pass --force"
        ) from exc
    problem = next(iter(schema_validator().iter_errors(document)), None)
    if problem is not None:
        where = "/".join(map(str, problem.absolute_path)) or "(root)"
        raise ResultFileError(
            f"{path}: {where}: {problem.message}; cannot resume from it "
            "(pass --force to replace it)"
        )
    return document


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
) -> dict:
    """Run the seeds not yet in the result file; write the file after every seed.

    `overrides` (`--set key=value`) replace settings or grids of the preset; only keys the
    method's config has can be set, the method checks the values, and they are recorded in
    the result file.  The result path comes from the registered name `method_name` only.
    """
    method, resolved = plan(method_name, task, preset, overrides)
    splits = task.load(data_dir)
    header = json.loads(
        json.dumps(
            {
                "method": {
                    "name": method_name,
                    "version": method.version,
                    "description": method.description,
                    "paper": method.paper,
                    "preset": preset,
                    "config": resolved.settings,
                    "grid": resolved.grid,
                },
                "task": {
                    "id": task.id,
                    "family": task.family,
                    "version": task.version,
                    "primary_metric": task.primary_metric,
                    "fingerprints": {name: split.fingerprint() for name, split in splits.items()},
                },
            }
        )
    )
    path = result_path(out_dir, method_name, task.id)
    runs: list[dict] = []
    document: dict | None = None
    if path.exists() and not force:
        document = read_result(path)
        for key in ("method", "task"):
            if document.get(key) != header[key]:
                raise ResultFileError(
                    f"{path} holds results for a different {key} definition (config, preset, "
                    "version or data); pass --force to replace it or --out to write elsewhere"
                )
        runs = document["runs"]
    done = {r["seed"] for r in runs}
    candidates = resolved.candidates()
    for seed in (s for s in seeds if s not in done):
        run = run_seed(
            method,
            method_name,
            task,
            splits,
            candidates,
            sorted(resolved.grid),
            seed,
            lambda d, t, s=seed: progress(s, d, t),
        )
        runs.append(run)
        document = build_document(header, runs, environment())
        write_atomic(path, document)
    assert document is not None
    return document
