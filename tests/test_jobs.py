"""Jobs: a grid in worker processes gives the serial run's numbers bit for bit; a failing job
is reported with its log and the others finish."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from grid_runs import GRID, runs
from typer.testing import CliRunner

from snnbench.cli import app
from snnbench.jobs import Job, Settings, expand, resolve_methods, run_parallel, worker_pool
from snnbench.results import validate_file

runner = CliRunner()


@pytest.mark.slow
def test_two_workers_give_the_serial_numbers_bit_for_bit(tmp_path, serial_grid):
    parallel = runner.invoke(
        app, ["evaluate", *GRID, "--out", str(tmp_path / "jobs"), "--jobs", "2"]
    )
    assert parallel.exit_code == 0, parallel.output
    a, b = runs(serial_grid), runs(tmp_path / "jobs")
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
    with worker_pool(2, 1) as pool:
        done = run_parallel(jobs, settings, pool, lambda e, j, o: events.append((e, j)))
    outcomes = {o.job: o for o in done}
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
    # a log has no terminal for a progress bar: progress comes as lines
    assert "recon on first-last-xor-t6, seed 0: training" in jobs[1].log_path(tmp_path).read_text()


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


def start_grid(out: Path):
    """A paper-preset `evaluate --jobs 2` in a subprocess, and its worker pids once both run."""
    import signal
    import subprocess
    import sys
    import time

    command = [
        sys.executable, "-m", "snnbench.cli", "evaluate", "--method", "sg",
        "--task", "first-last-xor-t6", "--seeds", "0,1", "--preset", "paper",
        "--out", str(out), "--jobs", "2",
    ]  # fmt: skip
    proc = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # a shell without job control starts background commands with SIGINT ignored, which
        # the child would inherit (and Python then never raises KeyboardInterrupt)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    children: set[int] = set()
    deadline = time.time() + 120
    while len(children) < 3 and time.time() < deadline and proc.poll() is None:
        for task in Path(f"/proc/{proc.pid}/task").glob("*/children"):
            children |= {int(pid) for pid in task.read_text().split()}
        time.sleep(0.2)
    while not list(out.glob("logs/sg--*.log")) and time.time() < deadline:
        time.sleep(0.2)  # until a job has started: the parent is past its checks
    time.sleep(2)  # the workers are training
    return proc, children


def still_running(pids: set[int]) -> list[int]:
    """The pids that are alive (not gone, not zombies); SIGKILLed so a failure leaves none."""
    import os
    import signal

    alive = [
        pid
        for pid in pids
        if Path(f"/proc/{pid}/status").exists()
        and "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    ]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    return alive


@pytest.mark.slow
@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_ctrl_c_or_sigterm_stops_every_worker(tmp_path, signal_name):
    """SIGINT (Ctrl-C) or SIGTERM (kill) to the parent: exit 130, and the worker processes it
    started are stopped at once, not orphaned (their seeds in training are not recorded;
    finished seeds would be, as records)."""
    import signal
    import time

    proc, children = start_grid(tmp_path)
    proc.send_signal(getattr(signal, signal_name))
    code = proc.wait(timeout=60)
    time.sleep(1)
    alive = still_running(children)
    assert code == 130
    assert children and alive == [], f"workers {alive} outlived {signal_name}"
    # stopped, not left to finish: the seeds in training when Ctrl-C came are not recorded
    assert not list(tmp_path.glob("sg/*/seed-*.json"))


@pytest.mark.slow
def test_workers_die_with_a_killed_parent(tmp_path):
    """SIGKILL gives the parent no chance to stop its workers: they go by themselves."""
    import time

    proc, children = start_grid(tmp_path)
    proc.kill()
    proc.wait(timeout=60)
    time.sleep(3)
    alive = still_running(children)
    assert len(children) >= 2 and alive == [], f"workers {alive} outlived their parent"


def test_stale_results_are_refused_skipped_or_rerun_as_asked(tmp_path):
    """Results of another definition (here another config; likewise an older version) are
    never resumed: refused by default, left alone with --stale skip, replaced with rerun."""
    base = ["evaluate", "--method", "recon", "--task", "first-last-xor-t6", "--preset", "quick"]
    base += ["--seeds", "0", "--out", str(tmp_path)]
    assert runner.invoke(app, base).exit_code == 0
    summary = tmp_path / "recon" / "first-last-xor-t6.json"
    before = summary.read_text()
    changed = [*base, "--set", "tol=1e-5"]
    refused = runner.invoke(app, changed)
    assert refused.exit_code == 1 and "--stale rerun" in refused.output
    skipped = runner.invoke(app, [*changed, "--stale", "skip"])
    assert skipped.exit_code == 0 and "skipped" in skipped.output and summary.read_text() == before
    rerun = runner.invoke(app, [*changed, "--stale", "rerun"])
    assert rerun.exit_code == 0, rerun.output
    assert json.loads(summary.read_text())["method"]["config"]["tol"] == 1e-5
    assert runner.invoke(app, [*changed, "--stale", "maybe"]).exit_code == 2


def test_bad_input_with_workers_started_exits_2_and_leaves_none_behind(tmp_path):
    """--jobs 2 starts its workers before checking the input (their imports overlap the
    checks); an input refused then stops them."""
    import multiprocessing
    import time

    args = ["evaluate", "--method", "recon", "--task", "first-last-xor-t6", "--jobs", "2"]
    result = runner.invoke(app, [*args, "--seeds", "x", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--seeds" in result.output
    deadline = time.monotonic() + 10  # a worker the pool was still spawning may take a moment
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert multiprocessing.active_children() == []
