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


def git_commit() -> str | None:
    """The commit of the source tree snnbench runs from, if it is a git checkout."""
    here = Path(snnbench.__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
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


def environment() -> dict:
    return {
        "snnbench": snnbench.__version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        **{name: package_version(name) for name in LIBRARIES},
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "torch_threads": torch.get_num_threads(),
        "device": "cpu",
    }
