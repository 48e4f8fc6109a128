"""Mid-fit checkpoints: a long fit that is interrupted resumes where it last saved.

A seed's fit on full MNIST can outlast the machine it runs on (a session that ends, a Slurm job
that is preempted); without this, its hours restart from zero.  The harness owns where the
states go (OUT/<method>/<task>/seed-<n>.resume/, deleted once the seed's record is written);
a method only names a state and hands it over.  Resuming is exact: a method saves everything
its loop depends on (weights, optimizer, schedule, random generator, best val state), so a
resumed seed gives the same numbers as an uninterrupted one (tests/test_checkpoints.py).

States are read with `torch.load(weights_only=True)`, which builds tensors and plain
containers only, never objects: a state file cannot run code.  Each file carries the identity
of its run (method and task headers, seed), so a state of another config, version or data is
ignored, and the seed's train time so far, so `train_seconds` counts the whole fit.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sys
import time
from pathlib import Path

import torch

from snnbench.results.io import write_bytes_atomic


def run_identity(method_header: dict, task_header: dict, seed: int) -> str:
    """What a state must have been saved under to be resumed from."""
    text = json.dumps([method_header, task_header, seed], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class Checkpoints:
    """One seed's saved states, and the clock of its train time.

    folder None: nothing is saved or loaded (tests, direct calls of a method); the clock runs.
    A state is a dict of tensors, numbers, strings and lists or dicts of them.
    """

    def __init__(self, folder: Path | None = None, identity: str = "") -> None:
        self.folder, self.identity = folder, identity
        self.start, self.banked = time.perf_counter(), 0.0

    def seconds(self) -> float:
        """Train time of the seed so far, including what earlier processes saved."""
        return self.banked + time.perf_counter() - self.start

    def earlier_seconds(self) -> float:
        """Train time that interrupted earlier processes of this seed recorded in their states."""
        return max(0.0, self.banked)

    def _path(self, name: str) -> Path:
        assert self.folder is not None
        # hashed: a method's name for its state never becomes a path of its own
        return self.folder / f"state-{hashlib.sha256(name.encode()).hexdigest()[:32]}.pt"

    def save(self, name: str, state: dict) -> None:
        if self.folder is None:
            return
        buffer = io.BytesIO()
        torch.save({"identity": self.identity, "seconds": self.seconds(), "state": state}, buffer)
        write_bytes_atomic(self._path(name), buffer.getvalue())

    def load(self, name: str) -> dict | None:
        """The state last saved under name by this run, or None; the clock resumes from it."""
        if self.folder is None or not self._path(name).is_file():
            return None
        try:
            saved = torch.load(self._path(name), weights_only=True)
            if saved["identity"] != self.identity:
                return None
            seconds, state = float(saved["seconds"]), saved["state"]
        except Exception as exc:  # a truncated or foreign file: start this fit afresh
            print(f"ignoring unreadable checkpoint {self._path(name)}: {exc}", file=sys.stderr)
            return None
        self.banked += max(0.0, seconds - self.seconds())
        return state

    def discard(self) -> None:
        """Once the seed's record is written its states are of no further use."""
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
