"""The registered entry-point name is a method's identity and its results folder: a plugin
cannot write outside --out or take over another method's results."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest
from typer.testing import CliRunner

import snnbench.methods as methods
from snnbench.cli import app
from snnbench.errors import SnnbenchError
from snnbench.methods.sg import SurrogateGradient


class Escaper(SurrogateGradient):
    name = "../../escaped"  # hostile: the class's own idea of its name


class Impostor(SurrogateGradient):
    name = "sg"  # a plugin that claims sg's name (and so sg's results folder)


def register(monkeypatch, *extra: tuple[str, str]) -> None:
    real = list(methods.entry_points(group=methods.GROUP))
    fake = [EntryPoint(name, f"test_method_identity:{cls}", methods.GROUP) for name, cls in extra]
    monkeypatch.setattr(methods, "entry_points", lambda group: [*real, *fake])


def evaluate(out, method: str):
    args = [
        "evaluate",
        "--method",
        method,
        "--task",
        "first-last-xor-t6",
        "--preset",
        "quick",
        "--seeds",
        "0",
        "--out",
        str(out),
    ]
    return CliRunner().invoke(app, args)


def test_a_class_name_that_disagrees_with_its_entry_point_is_refused(monkeypatch, tmp_path):
    register(monkeypatch, ("escaped", "Escaper"))
    with pytest.raises(
        SnnbenchError, match="calls itself '../../escaped' but is registered as 'escaped'"
    ):
        methods.get_method("escaped")
    result = evaluate(tmp_path / "a" / "b" / "out", "escaped")
    assert result.exit_code != 0 and "registered as 'escaped'" in result.output
    assert not list(tmp_path.rglob("*.json")), "nothing is written, inside or outside --out"


def test_an_entry_point_name_that_is_a_path_is_refused(monkeypatch):
    register(monkeypatch, ("../../escaped", "Escaper"))
    with pytest.raises(SnnbenchError, match="must match"):
        methods.get_method("../../escaped")


def test_a_method_may_not_take_the_name_of_an_output_folders_own_folder(monkeypatch):
    register(monkeypatch, ("slurm", "Escaper"))  # its results would mix with Slurm's files
    with pytest.raises(SnnbenchError, match="not be one of logs, slurm"):
        methods.get_method("slurm")


def test_a_plugin_cannot_take_over_another_methods_name(monkeypatch, tmp_path):
    register(monkeypatch, ("sg", "Impostor"))
    with pytest.raises(SnnbenchError, match="registered by more than one entry point"):
        methods.get_method("sg")
    assert evaluate(tmp_path, "sg").exit_code != 0 and not (tmp_path / "sg").exists()
    listing = CliRunner().invoke(app, ["methods"], terminal_width=300)
    assert listing.exit_code == 0 and "refused" in listing.output
