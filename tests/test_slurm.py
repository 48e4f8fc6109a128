"""--executor slurm against a real Slurm cluster (`.ci/slurm-up` starts a single-node one):
a grid submitted through submitit gives the serial run's numbers bit for bit; a failing job is
reported with its log; a preempted job is requeued and resumes; `status` re-attaches.

Where no cluster answers, every test here is skipped with the reason: never passed silently.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from grid_runs import GRID, runs
from typer.testing import CliRunner

from snnbench.cli import app
from snnbench.jobs import Job, Settings
from snnbench.results import validate_file

runner = CliRunner()
OPTS = ["--executor", "slurm", "--executor-opt", "time=30", "--executor-opt", "mem_gb=2"]


def cluster_problem() -> str | None:
    """Why no Slurm cluster can run the tests here, or None."""
    for exe in ("sbatch", "sinfo", "sacct", "srun", "scontrol"):
        if shutil.which(exe) is None:
            return f"{exe} is not installed"
    nodes = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    if nodes.returncode != 0:
        return f"sinfo failed: {(nodes.stderr.strip().splitlines() or ['?'])[-1]}"
    if not {"idle", "mixed", "allocated"} & set(nodes.stdout.split()):
        return f"no node is up (sinfo: {nodes.stdout.split()})"
    if subprocess.run(["sacct", "-n", "-X"], capture_output=True).returncode != 0:
        return "sacct fails: no accounting (slurmdbd), which submitit needs for job states"
    return None


@pytest.fixture(scope="module")
def cluster():
    problem = cluster_problem()
    if problem:
        pytest.skip(f"NO SLURM CLUSTER: {problem}; start one with `sudo .ci/slurm-up`")


def squeue_state(slurm_id: str) -> str:
    out = subprocess.run(
        ["squeue", "-h", "-j", slurm_id, "-o", "%T"], capture_output=True, text=True
    )
    return out.stdout.strip()


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.time() + seconds
    while not condition():
        if time.time() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.5)


@pytest.mark.slow
def test_a_grid_on_slurm_gives_the_serial_numbers_bit_for_bit(cluster, tmp_path, serial_grid):
    out = tmp_path / "slurm"
    result = runner.invoke(app, ["evaluate", *GRID, "--out", str(out), *OPTS])
    assert result.exit_code == 0, result.output
    assert "submitted 8 job(s) to Slurm" in result.output
    assert runs(out) == runs(serial_grid) and len(runs(out)) == 8
    for path in out.glob("*/*.json"):
        assert validate_file(path) == [], path
    status = runner.invoke(app, ["status", str(out)])
    assert status.exit_code == 0 and "8 jobs in" in status.output, status.output
    again = runner.invoke(app, ["evaluate", *GRID, "--out", str(out), *OPTS])
    assert again.exit_code == 0 and "submitted" not in again.output  # every seed recorded


def test_a_failing_slurm_job_is_reported_with_its_log(cluster, tmp_path):
    from snnbench.slurm import read_profile, submit

    made = submit(
        [Job("no-such-method", "first-last-xor-t6", 0)],
        Settings("quick", tmp_path, None, {}, 1),
        read_profile(None, [("time", 5)]),
    )
    status = runner.invoke(app, ["status", str(tmp_path), "--watch"])
    assert status.exit_code == 1, status.output
    assert "1 failed job(s)" in status.output and made[0].log in status.output.replace("\n", "")
    assert "no-such-method" in Path(made[0].log).read_text()


@pytest.mark.slow
def test_a_preempted_slurm_job_is_requeued_and_resumes(cluster, tmp_path, serial_grid):
    """The preemption signal (what submitit gets before Slurm preempts a job): submitit
    checkpoints and requeues it; the requeued job trains the seed again, with the same
    numbers."""
    grid = ["--method", "sg", "--task", "add-b2", "--seeds", "0", "--preset", "quick"]
    detached = runner.invoke(app, ["evaluate", *grid, "--out", str(tmp_path), *OPTS, "--detach"])
    assert detached.exit_code == 0, detached.output
    from snnbench.slurm import submissions

    (made,) = submissions(tmp_path)
    stdout = Path(made.log).with_suffix(".out")
    wait_until(
        lambda: (
            "snnbench: running" in stdout.read_text(errors="replace") if stdout.exists() else False
        ),
        120,
        "the job to start",
    )
    subprocess.run(["scancel", "--signal=USR2", made.slurm_id], check=True)
    wait_until(lambda: squeue_state(made.slurm_id) == "PENDING", 60, "the requeue")
    # Slurm holds a requeued job for about two minutes; an administrator may release it now
    subprocess.run(["scontrol", "update", f"JobId={made.slurm_id}", "StartTime=now"], check=True)
    status = runner.invoke(app, ["status", str(tmp_path), "--watch"])
    assert status.exit_code == 0, status.output
    assert "this job is preempted" in Path(made.log).read_text()
    restarts = subprocess.run(
        ["scontrol", "show", "job", made.slurm_id], capture_output=True, text=True
    ).stdout
    assert "Restarts=1" in restarts or not restarts  # the record may have aged out of slurmctld
    key = "sg/add-b2/seed-0.json"
    assert runs(tmp_path)[key] == runs(serial_grid)[key]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--executor", "pbs"], "choose local or slurm"),
        (["--detach"], "need --executor slurm"),
        (["--executor", "slurm", "--jobs", "2"], "--jobs is for the local executor"),
        (["--executor", "slurm", "--executor-opt", "nodes=3"], "unknown executor option 'nodes'"),
        (["--executor", "slurm", "--executor-opt", "time=long"], "executor option time='long'"),
        (["--executor", "slurm", "--executor-opt", "oops"], "expected key=value"),
    ],
)
def test_bad_executor_input_exits_2_with_one_line(tmp_path, args, message):
    result = runner.invoke(
        app, ["evaluate", "--method", "recon", "--task", "add-b2", "--out", str(tmp_path), *args]
    )
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "slurm").exists()


def test_a_slurm_profile_is_read_and_overridden(tmp_path):
    from snnbench.errors import UsageError
    from snnbench.slurm import read_profile

    profile = tmp_path / "cluster.toml"
    profile.write_text('partition = "cpu"\ntime = 60\n[sbatch]\nqos = "low"\n')
    read = read_profile(profile, [("time", 120), ("sbatch.mail-type", "END")])
    assert read["partition"] == "cpu" and read["time"] == 120 and read["cpus_per_task"] == 1
    assert read["sbatch"] == {"qos": "low", "mail-type": "END"}
    profile.write_text("time = [")
    with pytest.raises(UsageError, match="cluster.toml"):
        read_profile(profile, [])


def manifest_line(method="sg", task="add-b2", seed=0, slurm_id="7_0", submitted=None) -> str:
    job = {"method": method, "task": task, "seed": seed}
    return json.dumps(
        {
            "job": job,
            "slurm_id": slurm_id,
            "folder": "/f",
            "log": "/f/7_0_0_log.err",
            "submitted": time.time() if submitted is None else submitted,
        }
    )


def test_damaged_or_hostile_manifest_lines_are_skipped(tmp_path):
    from snnbench.slurm import MANIFEST, slurm_folder, submissions

    slurm_folder(tmp_path).mkdir()
    lines = [
        manifest_line(seed="0"),
        "not json",
        "[1]",
        "[" * 100000,  # nested past the parser's recursion limit
        manifest_line(method="../../etc"),
        manifest_line(task="no-such-task"),
        manifest_line(method="[/red]"),
        manifest_line(seed=1),  # the one good line
    ]
    (slurm_folder(tmp_path) / MANIFEST).write_text("\n".join(lines) + "\n")
    assert [s.job for s in submissions(tmp_path)] == [Job("sg", "add-b2", 1)]


@pytest.mark.parametrize(
    "sacct, age, recorded, expected",
    [
        ({"7_0": ("PENDING", None)}, 0, False, "queued"),
        ({"7_0": ("RUNNING", None)}, 0, False, "running"),
        ({}, 10, False, "queued"),  # sacct does not list it yet
        ({}, 3600, False, "failed"),  # lost: a rerun resubmits it
        # ended 10 s ago, its record not visible here yet (NFS): finishing, not failed
        ({"7_0": ("COMPLETED", 10)}, 60, False, "running"),
        # ended 10 min ago and still no record: finished without writing it
        ({"7_0": ("COMPLETED", 600)}, 900, False, "failed"),
        ({"7_0": ("COMPLETED", None)}, 60, False, "failed"),
        ({"7_0": ("PREEMPTED", None)}, 60, False, "failed"),  # final where preemption cancels
        ({"7_0": ("CANCELLED", None)}, 60, False, "failed"),
        ({"7_0": ("RUNNING", None)}, 60, True, "done"),  # its record is there
    ],
)
def test_slurm_states_map_to_the_grid(tmp_path, monkeypatch, sacct, age, recorded, expected):
    from snnbench import slurm

    slurm.slurm_folder(tmp_path).mkdir()
    line = manifest_line(submitted=time.time() - age)
    (slurm.slurm_folder(tmp_path) / slurm.MANIFEST).write_text(line + "\n")
    now = time.time()  # end times are given as seconds ago
    sacct = {k: (s, None if ago is None else now - ago) for k, (s, ago) in sacct.items()}
    monkeypatch.setattr(slurm, "slurm_states", lambda made: sacct)
    states = slurm.job_states(tmp_path, lambda job: recorded)
    assert states[Job("sg", "add-b2", 0)][0] == expected


def test_a_job_queued_with_another_config_is_not_taken_for_this_one(tmp_path, monkeypatch):
    """Rerunning with another --set while the old job waits must not let the old job's
    numbers stand for the new config."""
    import typer

    from snnbench import slurm
    from snnbench.runners import run_on_slurm

    slurm.slurm_folder(tmp_path).mkdir()
    old = json.loads(manifest_line())
    old["config"] = json.dumps(["quick", {}])
    (slurm.slurm_folder(tmp_path) / slurm.MANIFEST).write_text(json.dumps(old) + "\n")
    monkeypatch.setattr(slurm, "slurm_states", lambda made: {"7_0": ("PENDING", None)})
    monkeypatch.setattr(slurm, "submit", lambda *a: pytest.fail("must not submit"))
    job = Job("sg", "add-b2", 0)
    settings = Settings("quick", tmp_path, None, {"epochs": 5}, 1)
    with pytest.raises(typer.Exit) as exit_:
        run_on_slurm([job], [job], settings, {}, detach=True)
    assert exit_.value.exit_code == 1
    same = Settings("quick", tmp_path, None, {}, 1)  # the same config: left to finish
    assert run_on_slurm([job], [job], same, {}, detach=True) == []


def test_an_interrupt_during_submission_waits_until_the_manifest_is_written():
    """Ctrl-C between sbatch returning and the manifest line would lose track of the jobs:
    SIGINT is held back until the block ends, then delivered."""
    import os
    import signal

    from snnbench import slurm

    reached = []
    with pytest.raises(KeyboardInterrupt):
        with slurm.signals_held():
            os.kill(os.getpid(), signal.SIGINT)
            reached.append("after the signal")  # still here: nothing raised yet
    assert reached == ["after the signal"]
