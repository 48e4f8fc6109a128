"""`snnbench verify`: re-run one seed of a result file and compare it with what the file claims.

The re-run uses the config and grid recorded in the file (not today's preset), the same
task version, the same seed and the same torch thread count, through the same harness.  On
the same CPU build the numbers are identical; across machines float summation order can flip
a few predictions, so every metric
of every split must agree within an absolute tolerance (default one percentage point) and the
chosen hyperparameters must be the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from snnbench.config import ResolvedConfig
from snnbench.errors import ResultFileError
from snnbench.harness import run_seed
from snnbench.jobs import pinned_threads
from snnbench.methods import get_method
from snnbench.results import load_result, validate_file
from snnbench.tasks import get_task

DEFAULT_TOLERANCE = 0.01


def recorded_threads(environment: dict) -> int:
    """The torch thread count a file's runs were made with (this process's if not recorded).

    Matrix products may sum in another order on another number of threads, and a training
    run that takes another path from there chooses other hyperparameters; so a re-run uses
    the recorded count."""
    threads = environment.get("torch_threads")
    return threads if isinstance(threads, int) and threads >= 1 else torch.get_num_threads()


@dataclass
class Verification:
    file: str
    seed: int
    tolerance: float
    chosen_claimed: dict
    chosen_rerun: dict
    # (split, metric, claimed, re-run) for every metric
    comparisons: list[tuple[str, str, float, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def max_difference(self) -> float:
        return max((abs(a - b) for _, _, a, b in self.comparisons), default=0.0)

    @property
    def exact(self) -> bool:
        return self.chosen_claimed == self.chosen_rerun and all(
            a == b for _, _, a, b in self.comparisons
        )

    @property
    def reproduces(self) -> bool:
        return self.chosen_claimed == self.chosen_rerun and self.max_difference <= self.tolerance


def verify_seed(
    path: str | Path,
    seed: int,
    tolerance: float = DEFAULT_TOLERANCE,
    data_dir: str | None = None,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> Verification:
    errors = [p for p in validate_file(path, data_dir) if p.level == "error"]
    if errors:
        raise ResultFileError(
            "cannot verify an invalid result file:\n  " + "\n  ".join(map(str, errors))
        )
    result = load_result(Path(path))
    claimed = result.run(seed)
    if claimed is None:
        raise ResultFileError(f"{path} has no run for seed {seed}; it has seeds {result.seeds}")
    doc = {"method": result.method, "task": result.task}
    name = doc["method"]["name"]
    method = get_method(name)
    task = get_task(doc["task"]["id"])
    notes = []
    if method.version != doc["method"]["version"]:
        notes.append(
            f"installed {name} is version {method.version}, "
            f"the file was made by version {doc['method']['version']}"
        )
    config = ResolvedConfig(doc["method"]["config"], doc["method"]["grid"])
    preset = method.config(doc["method"]["preset"], task.info)
    if (preset.settings, preset.grid) != (config.settings, config.grid):
        notes.append(
            f"the file's config differs from today's {doc['method']['preset']!r} preset; "
            "re-running the file's config"
        )
    method.check_config(config)
    candidates = config.candidates()
    threads = recorded_threads(result.environment)
    if threads != torch.get_num_threads():
        notes.append(
            f"re-running on {threads} thread(s), as the file was made "
            f"(this process had {torch.get_num_threads()})"
        )
    with pinned_threads(threads):
        rerun = run_seed(
            method, name, task, task.load(data_dir), candidates, sorted(config.grid), seed, progress
        )
    verification = Verification(
        str(path),
        seed,
        tolerance,
        claimed["chosen_hyperparameters"],
        rerun["chosen_hyperparameters"],
        notes=notes,
    )
    for split, metrics in claimed["metrics"].items():
        for metric, value in metrics.items():
            verification.comparisons.append((split, metric, value, rerun["metrics"][split][metric]))
    return verification
