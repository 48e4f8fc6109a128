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


@pytest.mark.slow
def test_ctrl_c_stops_every_worker(tmp_path):
    """SIGINT to the parent: exit 130, and the worker processes it started are stopped at once
    (their seeds in training are not recorded; finished seeds would be, as records)."""
    import signal
    import subprocess
    import sys
    import time

    command = [
        sys.executable,
        "-m",
        "snnbench.cli",
        "evaluate",
        "--method",
        "sg",
        "--task",
        "first-last-xor-t6",
        "--seeds",
        "0,1",
        "--preset",
        "paper",
        "--out",
        str(tmp_path),
        "--jobs",
        "2",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: set[int] = set()
    deadline = time.time() + 120
    while len(children) < 2 and time.time() < deadline and proc.poll() is None:
        for task in Path(f"/proc/{proc.pid}/task").glob("*/children"):
            children |= {int(pid) for pid in task.read_text().split()}
        time.sleep(0.2)
    time.sleep(3)  # the workers import torch and start training
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    time.sleep(1)
    alive = [
        pid
        for pid in children
        if Path(f"/proc/{pid}/status").exists()
        and "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    ]
    assert children and alive == [], f"workers {alive} outlived Ctrl-C"
    # stopped, not left to finish: the seeds in training when Ctrl-C came are not recorded
    assert not list(tmp_path.glob("sg/*/seed-*.json"))
