"""Mid-fit checkpoints: an interrupted seed resumes to exactly the numbers of an uninterrupted
one, and a checkpoint file can neither run code nor leak into another run."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
from grid_runs import without_times
from typer.testing import CliRunner

from snnbench.checkpoints import Checkpoints, run_identity
from snnbench.cli import app
from snnbench.evaluate import evaluate
from snnbench.methods import sg as sg_module
from snnbench.results import ResultStore
from snnbench.tasks import get_task

TASK = "first-last-xor-t6"
# two fits each: the first finishes, the second is cut mid-way (recon-sg's quick grid has two)
GRID = {"sg": {"lr": [0.01, 0.005]}, "recon-sg": {}}


class Interrupt(Exception):
    pass


def run(method: str, out, stop_at: int | None = None) -> dict:
    def progress(seed: int, done: int, total: int) -> None:
        if done == stop_at:
            raise Interrupt

    evaluate(method, get_task(TASK), [0], "quick", out, progress=progress, overrides=GRID[method])
    return json.loads((out / method / TASK / "seed-0.json").read_text())["run"]


@pytest.mark.parametrize("method", ["sg", "recon-sg"])
def test_an_interrupted_seed_resumes_to_the_uninterrupted_numbers(method, tmp_path, monkeypatch):
    monkeypatch.setattr(sg_module, "SAVE_EVERY", 0.0)  # a state after every epoch
    whole = run(method, tmp_path / "whole")
    epochs_first_fit = 15  # the quick preset's epochs: fit 2 is in progress at 15 + 4
    resumed_out = tmp_path / "resumed"
    with pytest.raises(Interrupt):
        run(method, resumed_out, stop_at=epochs_first_fit + 4)
    folder = ResultStore(resumed_out, method, TASK).resume_path(0)
    assert len(list(folder.glob("state-*.pt"))) == 2, "one state per fit of the grid"
    shown = CliRunner().invoke(app, ["status", str(resumed_out)])
    assert shown.exit_code == 0 and "started" in shown.output, shown.output
    assert f"started {method} on {TASK}, seed 0: mid-fit state saved" in shown.output
    resumed = run(method, resumed_out)
    assert without_times(resumed) == without_times(whole), (
        "the network (sha256), choices and every metric must be the uninterrupted run's"
    )
    assert not folder.exists(), "the states go once the seed's record is written"


def test_train_seconds_include_the_time_before_the_interruption(tmp_path):
    identity = run_identity({"name": "m"}, {"id": "t"}, 0)
    first = Checkpoints(tmp_path, identity)
    first.banked = 100.0  # as if the fit had run 100 s
    first.save("fit", {"epoch": 3})
    later = Checkpoints(tmp_path, identity)
    assert later.load("fit") == {"epoch": 3}
    assert later.seconds() >= 100.0


def test_a_state_of_another_run_or_a_garbage_file_starts_afresh(tmp_path, capsys):
    mine = run_identity({"name": "sg", "config": {"lr": 0.01}}, {"id": TASK}, 0)
    other = run_identity({"name": "sg", "config": {"lr": 0.05}}, {"id": TASK}, 0)
    Checkpoints(tmp_path, other).save("fit", {"epoch": 7})
    assert Checkpoints(tmp_path, mine).load("fit") is None
    assert Checkpoints(tmp_path, other).load("fit") == {"epoch": 7}
    Checkpoints(tmp_path, mine)._path("fit").write_bytes(b"not a checkpoint")
    assert Checkpoints(tmp_path, mine).load("fit") is None
    assert "ignoring unreadable checkpoint" in capsys.readouterr().err


class Payload:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_a_state_file_cannot_run_code_when_loaded(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    checkpoints = Checkpoints(tmp_path, "id")
    with open(checkpoints._path("fit"), "wb") as f:
        pickle.dump({"identity": "id", "seconds": 0.0, "state": Payload()}, f, protocol=2)
    assert checkpoints.load("fit") is None
    assert not (tmp_path / "PWNED").exists()


def test_a_state_name_never_becomes_a_path(tmp_path):
    checkpoints = Checkpoints(tmp_path / "seed-0.resume", "id")
    checkpoints.save("../../escaped", {"w": torch.zeros(2)})
    assert [p.parent for p in tmp_path.rglob("state-*.pt")] == [tmp_path / "seed-0.resume"]
