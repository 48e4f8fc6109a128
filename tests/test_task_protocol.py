"""A task owns its protocol: a new family with its own OOD split is scored, validated and
published without any change to the harness, validate or the site."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from snnbench.cli import app
from snnbench.leaderboard import build_site
from snnbench.results import validate_file
from snnbench.tasks import TASKS
from snnbench.tasks.base import Split, Task
from snnbench.tasks.protocol import score_sequence
from snnbench.tasks.random import task_rng
from snnbench.tasks.xor import one_hot, xor_strings

LENGTHS = {"train": 5, "val": 5, "test": 5, "far-longer": 9}


def build_toy(task: Task, data_dir: str | None = None) -> dict[str, Split]:
    bits = task_rng("toy", task.version)
    splits = {}
    for name, length in LENGTHS.items():
        strings, labels = xor_strings(bits, 400, length)
        splits[name] = Split(name, one_hot(strings), labels)
    return splits


TOY = Task(
    id="toy-xor-t5",
    family="toy-xor",
    version="v1",
    kind="sequence",
    n_in=2,
    steps=5,
    heads=(("label", 2),),
    splits=("test", "far-longer", "val", "train"),
    metrics=("accuracy",),
    description="first-last XOR, tested on longer strings too",
    card="first-last-xor.md",
    builder=build_toy,
    scorer=score_sequence,
    split_steps={"far-longer": 9},
)


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(TASKS, TOY.id, TOY)
    return TOY


def test_a_registered_task_with_its_own_ood_split_is_scored_validated_and_published(toy, tmp_path):
    args = [
        "evaluate",
        "--method",
        "recon",
        "--task",
        "toy-xor",
        "--preset",
        "quick",
        "--seeds",
        "0,1",
        "--out",
        str(tmp_path / "results"),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    path = tmp_path / "results" / "recon" / "toy-xor-t5.json"
    doc = json.loads(path.read_text())
    assert doc["task"]["splits"] == ["test", "far-longer", "val", "train"]
    assert set(doc["runs"][0]["metrics"]) == {"test", "far-longer", "val", "train"}
    assert validate_file(path) == []
    site = build_site(tmp_path / "results", tmp_path / "site")
    page = (site / "tasks" / "toy-xor-t5.html").read_text()
    assert 'data-split="far-longer"' in page
    assert (
        page.index('data-split="test"')
        < page.index('data-split="far-longer"')
        < page.index('data-split="val"')
    )
    assert list((site / "plots").glob("toy-xor-t5-*.svg")), "no length plot for the OOD split"
    index = (site / "index.html").read_text()
    assert "toy-xor" in index


def test_a_result_for_a_split_the_task_does_not_have_is_refused(toy, tmp_path):
    args = [
        "evaluate",
        "--method",
        "recon",
        "--task",
        "toy-xor-t5",
        "--preset",
        "quick",
        "--seeds",
        "0",
        "--out",
        str(tmp_path),
    ]
    assert CliRunner().invoke(app, args).exit_code == 0
    path = tmp_path / "recon" / "toy-xor-t5.json"
    doc = json.loads(path.read_text())
    doc["task"]["splits"] = ["test", "val", "train"]
    doc["task"]["fingerprints"].pop("far-longer")
    for run in doc["runs"]:
        run["metrics"].pop("far-longer")
    doc["summary"]["metrics"].pop("far-longer")
    path.write_text(json.dumps(doc))
    assert any(p.field == "task/splits" for p in validate_file(path))
