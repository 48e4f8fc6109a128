"""Jobs: a grid in worker processes gives the serial run's numbers bit for bit; a failing job
is reported with its log and the others finish."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from snnbench.cli import app
from snnbench.jobs import Job, Settings, expand, resolve_methods, run_parallel
from snnbench.results import validate_file

runner = CliRunner()
GRID = [
    "--method",
    "recon,sg",
    "--task",
    "first-last-xor-t6,add-b2",
    "--seeds",
    "0,1",
    "--preset",
    "quick",
]


def without_times(value):
    """value with every wall-clock field (a key ending in 'seconds') removed, at any depth."""
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items() if not k.endswith("seconds")}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


def runs(out: Path) -> dict:
    """Per (method, task, seed): everything a run reports but its wall times."""
    return {
        str(path.relative_to(out)): without_times(json.loads(path.read_text())["run"])
        for path in sorted(out.glob("*/*/seed-*.json"))
    }


@pytest.mark.slow
def test_two_workers_give_the_serial_numbers_bit_for_bit(tmp_path):
    serial = runner.invoke(
        app, ["evaluate", *GRID, "--out", str(tmp_path / "serial"), "--threads", "1"]
    )
    assert serial.exit_code == 0, serial.output
    parallel = runner.invoke(
        app, ["evaluate", *GRID, "--out", str(tmp_path / "jobs"), "--jobs", "2"]
    )
    assert parallel.exit_code == 0, parallel.output
    a, b = runs(tmp_path / "serial"), runs(tmp_path / "jobs")
    assert len(a) == 8 and a == b
    for path in (tmp_path / "jobs").glob("*/*.json"):
        assert validate_file(path) == [] and json.loads(path.read_text())["seeds"] == [0, 1]
    threads = {
        json.loads(p.read_text())["environment"]["torch_threads"]
        for p in (tmp_path / "jobs").glob("*/*/seed-*.json")
    }
    assert threads == {1}, "each of 2 workers on 2 cores runs 1 thread"
    again = runner.invoke(app, ["evaluate", *GRID, "--out", str(tmp_path / "jobs"), "--jobs", "2"])
    assert again.exit_code == 0 and runs(tmp_path / "jobs") == b  # all recorded: nothing re-run


def test_a_failing_job_is_reported_with_its_log_and_the_others_finish(tmp_path):
    settings = Settings("quick", tmp_path, None, {}, 1)
    jobs = [Job("no-such-method", "first-last-xor-t6", 0), Job("recon", "first-last-xor-t6", 0)]
    events = []
    outcomes = {
        o.job: o for o in run_parallel(jobs, settings, 2, lambda e, j, o: events.append((e, j)))
    }
    failed = outcomes[jobs[0]]
    assert (
        failed.error
        and "no-such-method" in failed.error
        and str(jobs[0].log_path(tmp_path)) in failed.error
    )
    assert "Traceback" in jobs[0].log_path(tmp_path).read_text()
    assert (
        outcomes[jobs[1]].error is None
        and validate_file(tmp_path / "recon" / "first-last-xor-t6.json") == []
    )
    assert ("failed", jobs[0]) in events and ("done", jobs[1]) in events


def test_methods_and_tasks_expand_into_jobs():
    assert expand(["a", "b"], ["t"], [0, 1]) == [
        Job("a", "t", 0),
        Job("a", "t", 1),
        Job("b", "t", 0),
        Job("b", "t", 1),
    ]
    assert resolve_methods("sg,recon,sg") == ["sg", "recon"]
    assert {"recon", "sg-snntorch"} <= set(resolve_methods("all"))
    result = runner.invoke(app, ["evaluate", "--method", ",", "--task", "add-b2"])
    assert result.exit_code == 2 and "names no method" in result.output
