"""Shared fixtures: the official MNIST test files from ../shared/data/mnist, when present."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


@pytest.fixture
def mnist_test_files(tmp_path: Path) -> Path:
    """A private copy of the official t10k files (tests may corrupt it)."""
    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(
            f"official MNIST test files not found at {SHARED_MNIST} "
            "(shared/data/mnist is not part of the repo)"
        )
    for f in SHARED_MNIST.glob("t10k-*.gz"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


@pytest.fixture
def quick_run(tmp_path: Path):
    """evaluate METHOD on TASK with the quick preset and seed 0 through the CLI; the file must
    validate; returns the run of seed 0."""
    import json

    from typer.testing import CliRunner

    from snnbench.cli import app
    from snnbench.results import validate_file

    def run(method: str, task: str) -> dict:
        result = CliRunner().invoke(
            app,
            [
                "evaluate",
                "--method",
                method,
                "--task",
                task,
                "--preset",
                "quick",
                "--seeds",
                "0",
                "--out",
                str(tmp_path),
            ],
        )
        assert result.exit_code == 0, result.output
        path = tmp_path / method / f"{task}.json"
        assert validate_file(path) == []
        return json.loads(path.read_text())["runs"][0]

    return run


@pytest.fixture(scope="session")
def serial_grid(tmp_path_factory) -> Path:
    """The quick grid (grid_runs.GRID) run serially on one thread, once per session: the
    reference that --jobs and --executor slurm must reproduce bit for bit."""
    from grid_runs import GRID
    from typer.testing import CliRunner

    from snnbench.cli import app

    out = tmp_path_factory.mktemp("serial-grid")
    result = CliRunner().invoke(app, ["evaluate", *GRID, "--out", str(out), "--threads", "1"])
    assert result.exit_code == 0, result.output
    return out
