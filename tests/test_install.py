"""The installed environment and the package as a user gets it (a non-editable wheel)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib
import torch
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def test_torch_is_the_cpu_build_in_the_declared_range():
    """spikingjelly's metadata would swap torch for a CUDA build; `make install` must not."""
    declared = next(
        d
        for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
        if d.startswith("torch")
    )
    assert Version(torch.__version__.split("+")[0]) in SpecifierSet(declared.removeprefix("torch"))
    assert torch.version.cuda is None, f"torch {torch.__version__} is a CUDA build"
    assert torch.__version__.endswith("+cpu")


@pytest.mark.slow
def test_non_editable_wheel_ships_baselines_cards_configs_schema_and_site_templates(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next((tmp_path / "dist").glob("snnbench-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "snnbench/baselines/sg_snntorch.py",
        "snnbench/baselines/configs/sg-snntorch.toml",
        "snnbench/cards/add.md",
        "snnbench/schema/result.schema.json",
        "snnbench/methods/configs/sg.toml",
        "snnbench/leaderboard/templates/task.html",
        "snnbench/leaderboard/static/sort.js",
    ):
        assert required in names
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    code = (
        "import snnbench, importlib.resources as r\n"
        "from snnbench.baselines.sg_snntorch import SurrogateGradientSnntorch as M\n"
        "from snnbench.tasks import get_task\n"
        "assert snnbench.__file__.startswith(%r), snnbench.__file__\n"
        "print(M().config('paper', get_task('add-b3')).settings['p_last'],\n"
        "      'add-b3' in r.files('snnbench.cards').joinpath('add.md').read_text(),\n"
        "      len(r.files('snnbench.schema').joinpath('result.schema.json').read_text()) > 100)\n"
        "from snnbench.leaderboard.site import environment\n"
        "print(environment().get_template('task.html').filename.startswith(%r),\n"
        "      r.files('snnbench.leaderboard').joinpath('static', 'sort.js').is_file())\n"
    ) % (str(target), str(target))
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["512", "True", "True", "True", "True"]
