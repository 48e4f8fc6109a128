"""Where a result was produced: versions, commit, CPU; stored in every result file."""

from __future__ import annotations

import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch

import snnbench

LIBRARIES = ("torch", "snntorch", "spikingjelly", "cvxpy", "numpy")


def package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


# Paths whose changes cannot move a number: results (a `--stale rerun` deletes tracked ones)
# and prose.  A change anywhere else (the package, baselines, tasks, pyproject) marks a run dirty.
NOT_SOURCE = (
    ":(exclude,top)leaderboard/results",
    ":(exclude,top)docs",
    ":(exclude,top,glob)**/*.md",
)
PACKAGE = Path(snnbench.__file__).resolve().parent


def git_commit(here: Path = PACKAGE) -> str | None:
    """The commit of the source tree at `here` (by default the one snnbench runs from), if it
    is a git checkout, with "-dirty" when its source differs from that commit."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ":/", *NOT_SOURCE],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# Read once, when the code is loaded: a worker that runs for hours records the commit of the
# code it imported, not whatever the checkout holds when it writes a record.
LOADED_COMMIT = git_commit()


def environment() -> dict:
    return {
        "snnbench": snnbench.__version__,
        "git_commit": LOADED_COMMIT,
        "python": platform.python_version(),
        **{name: package_version(name) for name in LIBRARIES},
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "torch_threads": torch.get_num_threads(),
        "device": "cpu",
    }
