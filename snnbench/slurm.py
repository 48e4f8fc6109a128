"""Jobs on a Slurm cluster, through submitit: submit, requeue on preemption, watch, re-attach.

`snnbench evaluate --executor slurm` submits each pending (method, task, seed) job as one task
of a Slurm job array (submitit's batch submission).  A job runs the same code as a local worker
(`jobs.run_job`, threads pinned to its CPUs) and writes its own seed record; the results store
rebuilds the summary under its lock, so the summary is merged as jobs finish, whichever node
they ran on.  Jobs are `submitit.helpers.Checkpointable`: on preemption or time-out submitit
requeues them, and a requeued job resumes by skipping the seeds already recorded.

Every submission is appended to OUT/slurm/submissions.jsonl (job, Slurm id, submitit folder),
so a client can detach (`--detach`, or Ctrl-C while watching) and any later `snnbench status
OUT` re-attaches: it reads the states of those ids from `sacct` and the records on disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path

import tomllib
from submitit.helpers import Checkpointable

from snnbench.errors import SnnbenchError, UsageError
from snnbench.jobs import Job, Settings, pin_thread_env, run_job
from snnbench.results.io import locked

# Profile keys (TOML file or --executor-opt) and what they mean; `sbatch.<flag>` adds any other
# sbatch flag verbatim (e.g. sbatch.qos=high, sbatch.mail-type=END).
OPTIONS = {
    "partition": (str, "Slurm partition (default: the cluster's default)"),
    "time": (int, "minutes per job (default 240); a job past it is requeued, up to max_requeues"),
    "cpus_per_task": (int, "CPUs per job, and so its torch / numba threads (default 1)"),
    "mem_gb": ((int, float), "memory per job in GB (default 8)"),
    "account": (str, "account to charge"),
    "array_parallelism": (int, "most array tasks running at once (default 256)"),
    "max_requeues": (int, "requeues after preemption or time-out (default 3)"),
    "setup": (list, "shell lines run before the job, e.g. ['module load python']"),
}
KIND_NAMES = {
    str: "a string",
    int: "a positive integer",
    (int, float): "a positive number",
    list: "a list of strings",
}
DEFAULTS = {"time": 240, "cpus_per_task": 1, "mem_gb": 8, "max_requeues": 3}
POLL_SECONDS = 5.0
MANIFEST = "submissions.jsonl"


def slurm_folder(out: Path) -> Path:
    return Path(out) / "slurm"


def read_profile(path: Path | None, options: list[tuple[str, object]]) -> dict:
    """The executor options: DEFAULTS, then the TOML profile, then --executor-opt (last wins).
    Unknown keys and wrong types are refused, naming the option."""
    profile: dict = dict(DEFAULTS)
    sbatch: dict = {}
    if path is not None:
        try:
            loaded = tomllib.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise UsageError(f"--executor-profile {path}: {exc}") from None
        table = loaded.pop("sbatch", {})
        if not isinstance(table, dict):
            raise UsageError(f"--executor-profile {path}: [sbatch] must be a table of flags")
        sbatch.update(table)
        profile.update(loaded)
    for key, value in options:
        if key.startswith("sbatch."):
            sbatch[key.removeprefix("sbatch.")] = value
        else:
            profile[key] = value
    for key, value in profile.items():
        if key not in OPTIONS:
            known = ", ".join([*OPTIONS, "sbatch.<flag>"])
            raise UsageError(f"unknown executor option {key!r}; known: {known}")
        kind = OPTIONS[key][0]
        good = isinstance(value, kind) and not isinstance(value, bool)
        if kind is list:
            good = good and all(isinstance(line, str) for line in value)
        elif kind is not str:
            good = good and value > 0
        if not good:
            raise UsageError(f"executor option {key}={value!r}: expected {KIND_NAMES[kind]}")
    if any(not isinstance(v, (str, int, float)) for v in sbatch.values()):
        raise UsageError("sbatch.<flag> options take a string or number")
    if sbatch:
        profile["sbatch"] = sbatch
    return profile


def check_client() -> None:
    """Slurm's client commands must be here (submitit calls sbatch, srun, sacct, scontrol)."""
    missing = [exe for exe in ("sbatch", "sacct", "scontrol", "srun") if shutil.which(exe) is None]
    if missing:
        raise UsageError(
            f"--executor slurm: {', '.join(missing)} not found; run this on a machine that "
            "submits to the cluster (a login node)"
        )


def make_executor(out: Path, profile: dict):
    """A submitit SlurmExecutor for the profile; its files go under OUT/slurm/<job id>/."""
    import submitit

    parameters = {
        "time": profile["time"],
        "cpus_per_task": profile["cpus_per_task"],
        "mem": f"{int(profile['mem_gb'] * 1024)}M",  # sbatch takes whole numbers only
        "job_name": "snnbench",
        "additional_parameters": dict(profile.get("sbatch", {})),
    }
    for key in ("partition", "account", "array_parallelism", "setup"):
        if key in profile:
            parameters[key] = profile[key]
    try:
        executor = submitit.SlurmExecutor(
            folder=slurm_folder(out) / "%j", max_num_timeout=profile["max_requeues"]
        )
    except RuntimeError as exc:  # no srun on this machine
        raise UsageError(f"--executor slurm: {exc}") from None
    executor.update_parameters(**parameters)
    return executor


class SeedJob(Checkpointable):
    """What a Slurm task runs: one job, threads pinned.  Checkpointable: on preemption or
    time-out submitit requeues it with the same arguments, and the requeued job skips the seeds
    already recorded (a seed cut short starts again)."""

    def __call__(self, job: Job, settings: Settings) -> float:
        pin_thread_env(settings.threads)
        print(f"snnbench: running {job.name} ({settings.threads} thread(s))", flush=True)
        run = run_job(job, settings).run(job.seed)
        return run["train_seconds"] if run else 0.0


@dataclass(frozen=True)
class Submission:
    job: Job
    slurm_id: str  # "<array id>_<task>"
    folder: str  # submitit's files of this task
    log: str  # its stderr, where a failure's traceback goes
    submitted: float
    config: str = ""  # the preset and --set overrides it runs with (config_key)


def config_key(settings: Settings) -> str:
    """What a job's numbers depend on besides its (method, task, seed) and code."""
    return json.dumps([settings.preset, settings.overrides], sort_keys=True)


def submit(jobs: list[Job], settings: Settings, profile: dict) -> list[Submission]:
    """Submit jobs as one array; record each in the manifest before returning."""
    import submitit

    # absolute paths: a job may start in another folder (sbatch.chdir, a setup line's cd)
    data_dir = settings.data_dir
    if data_dir is not None and Path(data_dir).exists():
        data_dir = str(Path(data_dir).resolve())
    settings = replace(
        settings, out=settings.out.resolve(), data_dir=data_dir, threads=profile["cpus_per_task"]
    )
    executor = make_executor(settings.out, profile)
    with signals_held():  # Ctrl-C or SIGTERM between sbatch and the manifest would lose the jobs
        try:
            with executor.batch():
                handles = [executor.submit(SeedJob(), job, settings) for job in jobs]
        except submitit.core.utils.FailedJobError as exc:  # sbatch refused the submission
            lines = [line for line in str(exc).splitlines() if line.strip()]
            raise SnnbenchError(
                f"Slurm refused the submission: {lines[-1] if lines else exc}"
            ) from None
        return record_submissions(jobs, handles, settings)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM noted, not acted on, until the block ends, then raised as Ctrl-C.
    Python-level handlers, not a signal mask: sbatch (exec'd, so with default handlers)
    stays interruptible, and a signal landing on any thread is caught."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    before = {s: signal.signal(s, lambda signum, frame: caught.append(signum)) for s in held}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)
    if caught:
        raise KeyboardInterrupt


def record_submissions(jobs: list[Job], handles: list, settings: Settings) -> list[Submission]:
    """Each submitted job in the manifest, with its Slurm id, folder, log and config key."""
    now = time.time()
    made = [
        Submission(
            job,
            h.job_id,
            str(h.paths.folder.resolve()),
            str(h.paths.stderr.resolve()),
            now,
            config_key(settings),
        )
        for job, h in zip(jobs, handles, strict=True)
    ]
    manifest = slurm_folder(settings.out) / MANIFEST
    with locked(slurm_folder(settings.out)):
        with open(manifest, "a") as handle:
            for s in made:
                handle.write(json.dumps({**asdict(s), "job": asdict(s.job)}) + "\n")
    return made


def submissions(out: Path) -> list[Submission]:
    """The latest submission of each job in OUT's manifest (a resubmission replaces it).
    Lines that do not parse, or name a method or task that could be a path, are skipped:
    the manifest only locates logs and states, and may be damaged."""
    from snnbench.methods import NAME
    from snnbench.tasks import TASKS

    latest: dict[Job, Submission] = {}
    path = slurm_folder(out) / MANIFEST
    if not path.is_file():
        return []
    for line in path.read_text(errors="replace").splitlines():
        try:
            raw = json.loads(line)
            job = raw["job"]
            method, task, seed = job["method"], job["task"], job["seed"]
            if not (isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0):
                raise TypeError("seed")
            if not (isinstance(method, str) and NAME.match(method) and task in TASKS):
                raise TypeError("names")
            s = Submission(
                Job(method, task, seed),
                *(str(raw[k]) for k in ("slurm_id", "folder", "log")),
                float(raw["submitted"]),
                str(raw.get("config", "")),
            )
        except (ValueError, TypeError, KeyError, RecursionError):
            continue
        latest[s.job] = s
    return list(latest.values())


# Slurm states of a job that may still run.  UNKNOWN (sacct has no row for it yet) counts as
# queued only for UNKNOWN_GRACE seconds after submission: later the job is lost (sacct down,
# the record aged out) and reported as failed, so that a rerun resubmits it.
ACTIVE = {
    "PENDING",
    "RUNNING",
    "REQUEUED",
    "COMPLETING",
    "CONFIGURING",
    "RESIZING",
    "SUSPENDED",
    "REQUEUE_HOLD",
    "REQUEUE_FED",
}
UNKNOWN_GRACE = 300.0
# A COMPLETED job whose record this node cannot see yet (a shared file system's attribute
# cache on the login node) is finishing, not failed, for this long after it ended.
RECORD_GRACE = 120.0


def ended_at(text: str) -> float | None:
    """sacct's End column (local time, ISO) as a timestamp; None for Unknown or empty."""
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        return None


def slurm_states(made: list[Submission]) -> dict[str, tuple[str, float | None]]:
    """Slurm id -> (state, end time or None), from one `sacct` call (submitit's parser
    expands array ranges such as 12_[3-7]); ids sacct does not list are absent.  Asked afresh
    on every call: submitit's shared watcher would cache some passing states (CONFIGURING,
    SUSPENDED) as final."""
    from submitit.slurm.slurm import SlurmInfoWatcher

    if not made:
        return {}
    if shutil.which("sacct") is None:
        raise UsageError(
            "sacct not found: the states of Slurm jobs can only be read where Slurm's client "
            "commands are (a login node)"
        )
    arrays = sorted({s.slurm_id.split("_")[0] for s in made})
    command = ["sacct", "-X", "-n", "-P", "-o", "JobID,State,End", "-j", ",".join(arrays)]
    try:
        output = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "SLURM_TIME_FORMAT": "standard"},  # End as ISO, always
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    rows = SlurmInfoWatcher().read_info("JobID|State|End\n" + output)
    return {
        job_id: (info["State"].split()[0].upper(), ended_at(info.get("End", "")))
        for job_id, info in rows.items()
        if info.get("State")
    }


def job_states(out: Path, recorded: Callable[[Job], bool]) -> dict[Job, tuple[str, str]]:
    """(state, detail) of every submitted job: done (a record exists), queued, running, or
    failed (Slurm state and log path)."""
    made = submissions(out)
    done = {s.job for s in made if recorded(s.job)}  # asked once per job: records may change
    states = slurm_states([s for s in made if s.job not in done])
    result = {}
    for s in made:
        if s.job in done:
            result[s.job] = ("done", "")
            continue
        state, ended = states.get(s.slurm_id, ("UNKNOWN", None))
        if state in ("RUNNING", "COMPLETING"):
            result[s.job] = ("running", s.slurm_id)
        elif state == "COMPLETED" and ended is not None and time.time() - ended < RECORD_GRACE:
            result[s.job] = ("running", f"{s.slurm_id} completed; its record is not visible yet")
        elif state in ACTIVE or (state == "UNKNOWN" and time.time() - s.submitted < UNKNOWN_GRACE):
            result[s.job] = ("queued", f"{s.slurm_id} {state.lower()}")
        elif state == "UNKNOWN":
            result[s.job] = ("failed", f"Slurm job {s.slurm_id} is unknown to sacct; log: {s.log}")
        else:
            result[s.job] = ("failed", f"Slurm job {s.slurm_id} {state}, log: {s.log}")
    return result


def wait(
    out: Path,
    recorded: Callable[[Job], bool],
    on_update: Callable[[dict[Job, tuple[str, str]]], None],
    poll: float = POLL_SECONDS,
) -> dict[Job, tuple[str, str]]:
    """Poll until no submitted job is queued or running; returns the final states."""
    while True:
        states = job_states(out, recorded)
        on_update(states)
        if not any(state in ("queued", "running") for state, _ in states.values()):
            return states
        time.sleep(poll)
