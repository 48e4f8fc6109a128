"""Jobs: (method, task, seed) units of work, run one after another or N at a time.

`snnbench evaluate` expands its methods, tasks and seeds into jobs, skips the seeds already
recorded, and runs the rest: in this process (`--jobs 1`), or in N worker processes
(`--jobs N`), each with its torch and numba threads pinned (`threads`, by default the cores
divided by N) so that N jobs never oversubscribe the machine.  Every job writes its own seed
record and the records are merged into the summary by the results store, so jobs of one
(method, task) may run at once.  A job's numbers depend on its config, seed and thread count
only, not on which worker ran it or on what ran beside it (tested: a grid run with `--jobs 2`
equals a serial run on the same thread count, bit for bit).
"""

from __future__ import annotations

import concurrent.futures as futures
import contextlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from snnbench.errors import UnknownNameError, UsageError


@dataclass(frozen=True)
class Job:
    method: str
    task: str
    seed: int

    @property
    def name(self) -> str:
        return f"{self.method} on {self.task}, seed {self.seed}"

    def log_path(self, out: Path) -> Path:
        return out / "logs" / f"{self.method}--{self.task}--seed-{self.seed}.log"


@dataclass(frozen=True)
class Settings:
    """What every job of one evaluate call shares."""

    preset: str
    out: Path
    data_dir: str | None
    overrides: dict
    threads: int | None  # torch / numba threads per job; None: this process's default


def resolve_methods(spec: str) -> list[str]:
    """A method name, `all`, or a comma-separated list of these."""
    from snnbench.methods import available_methods

    registered = list(available_methods())
    chosen: dict[str, None] = {}
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        if part == "all":
            chosen.update(dict.fromkeys(registered))
        elif part in registered:
            chosen[part] = None
        else:
            raise UnknownNameError("method", part, [*registered, "all"])
    if not chosen:
        raise UsageError(f"--method {spec!r} names no method; give a name or `all`")
    return list(chosen)


def expand(methods: list[str], tasks: list[str], seeds: list[int]) -> list[Job]:
    """Every (method, task, seed), methods outermost."""
    return [Job(m, t, s) for m in methods for t in tasks for s in seeds]


@contextlib.contextmanager
def pinned_threads(threads: int | None) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_seeds(
    method: str,
    task: str,
    seeds: list[int],
    settings: Settings,
    progress: Callable[[int, int, int], None] = lambda s, d, t: None,
):
    """Train and score seeds of one (method, task) in order, loading its data once (seeds
    already recorded are skipped); returns the summary after them."""
    from snnbench.allocator import keep_freed_memory
    from snnbench.evaluate import evaluate
    from snnbench.tasks import get_task

    keep_freed_memory()  # every method's training alike, whichever process runs it
    with pinned_threads(settings.threads):
        return evaluate(
            method,
            get_task(task),
            seeds,
            settings.preset,
            settings.out,
            settings.data_dir,
            False,
            progress,
            settings.overrides,
        )


def run_job(job: Job, settings: Settings, every: float = 30.0):
    """One seed (what a worker or a Slurm task runs), its progress printed as a line at most
    every `every` seconds: a log has no terminal to draw a bar on."""
    last: list = [0.0, None]  # when, and what, was last printed

    def report(seed: int, done: int, total: int) -> None:
        now = time.monotonic()
        due = now - last[0] >= every or (total and done == total)
        if due and last[1] != (done, total):
            last[:] = [now, (done, total)]
            stamp = time.strftime("%H:%M:%S")
            print(f"{stamp} {job.name}: training {done}/{total or '?'}", flush=True)

    return run_seeds(job.method, job.task, [job.seed], settings, report)


def pin_thread_env(threads: int | None) -> None:
    """A worker's threads, pinned before torch starts its pools (OMP_NUM_THREADS too)."""
    if threads is not None:
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
        os.environ["NUMBA_NUM_THREADS"] = str(threads)


def start_worker(threads: int | None, parent: int) -> None:
    """A worker's start: bound to its parent's life, threads pinned, then what every job
    imports (torch, the models, the harness, the registered methods), so that this happens
    while the parent checks its inputs rather than after."""
    die_with_parent(parent)
    pin_thread_env(threads)
    import snnbench.harness  # noqa: F401
    from snnbench.methods import available_methods

    for entry in available_methods().values():  # the method modules themselves
        try:
            entry.load()
        except Exception:  # a broken plugin fails in the job that asks for it, with its log
            pass


def die_with_parent(parent: int) -> None:
    """SIGTERM this process when its parent dies, however it dies (SIGKILL included): a
    worker holds both ends of the pool's queues, so it would otherwise wait forever (Linux's
    PR_SET_PDEATHSIG; elsewhere nothing is set)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


@contextlib.contextmanager
def worker_pool(workers: int, threads: int | None) -> Iterator[futures.Executor | None]:
    """`workers` spawned processes (each imports torch afresh, pinned), started at once: one
    no-op call per worker makes the pool spawn them all now.  None when workers is 1 (jobs
    run in this process).  Leaving the block normally waits for the workers; leaving it by an
    exception (bad input, Ctrl-C, or SIGTERM, raised as Ctrl-C while the pool lives)
    terminates them."""
    if workers < 2:
        yield None
        return
    pool = futures.ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=start_worker,
        initargs=(threads, os.getpid()),
    )
    for _ in range(workers):
        pool.submit(int)
    try:
        with terminate_as_interrupt():
            yield pool
    except BaseException:
        stop_workers(pool)
        raise
    pool.shutdown(wait=True)


def stop_workers(pool: futures.ProcessPoolExecutor) -> None:
    """Cancel what has not started and terminate the workers at once."""
    workers_now = list((pool._processes or {}).values())  # before shutdown forgets them
    pool.shutdown(wait=False, cancel_futures=True)
    for process in workers_now:
        process.terminate()
    for process in workers_now:
        process.join(timeout=10)


def _run_logged(job: Job, settings: Settings) -> tuple[float, float, str | None]:
    """In a worker: run the job with its output in its log file.  Returns (train + eval
    seconds, the job's wall seconds, None) or (0, wall, the error's first line): never raises,
    because an exception that does not survive pickling back to the parent would break the
    whole pool."""
    start = time.perf_counter()
    log = job.log_path(settings.out)
    log.parent.mkdir(parents=True, exist_ok=True)
    with (
        open(log, "w") as handle,
        contextlib.redirect_stdout(handle),
        contextlib.redirect_stderr(handle),
    ):
        try:
            run = run_job(job, settings).run(job.seed)
        except Exception as exc:
            traceback.print_exc(file=handle)
            error = (str(exc).splitlines() or [type(exc).__name__])[0]
            return 0.0, time.perf_counter() - start, error
    own = run["train_seconds"] + run["eval_seconds"] if run else 0.0
    return own, time.perf_counter() - start, None


@dataclass
class Outcome:
    job: Job
    error: str | None = None  # one line; the job's log has the rest
    own_seconds: float = 0.0  # its train + eval seconds
    wall_seconds: float = 0.0  # in its worker, all included (data, checks, writing)

    def log_line(self) -> str:
        """A line of OUT/logs/jobs.jsonl: what ran, for how long, and how it ended."""
        fields = {k: v for k, v in asdict(self).items() if k != "job"}
        return json.dumps({**asdict(self.job), **fields, "at": time.time()})


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (kill, a session or scheduler ending) handled as Ctrl-C while workers run, so
    the workers are stopped too instead of being orphaned to run on and write records."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def run_parallel(
    jobs: list[Job],
    settings: Settings,
    pool: futures.Executor,
    on_event: Callable[[str, Job, Outcome | None], None] = lambda e, j, o: None,
) -> list[Outcome]:
    """Run jobs on a pool of `worker_pool`'s processes.

    A failing job is reported with its log path and the others go on; Ctrl-C (or SIGTERM)
    cancels the jobs not started, stops the workers and raises KeyboardInterrupt (finished
    seeds are already recorded).
    """
    (settings.out / "logs").mkdir(parents=True, exist_ok=True)  # jobs.jsonl, even if no job starts
    workers = pool._max_workers
    outcomes: list[Outcome] = []
    try:
        running = {pool.submit(_run_logged, job, settings): job for job in jobs}
        for job in jobs[:workers]:
            on_event("started", job, None)
        queued = list(jobs[workers:])
        for future in futures.as_completed(running):
            job = running[future]
            try:
                own, wall, error = future.result()
            except Exception as exc:  # the worker itself died (killed, out of memory)
                own, wall, error = 0.0, 0.0, f"worker died: {type(exc).__name__}: {exc}"
            log = job.log_path(settings.out)
            outcome = Outcome(job, f"{error} (log: {log})" if error else None, own, wall)
            outcomes.append(outcome)
            with open(settings.out / "logs" / "jobs.jsonl", "a") as handle:
                handle.write(outcome.log_line() + "\n")
            on_event("failed" if outcome.error else "done", job, outcome)
            if queued:
                on_event("started", queued.pop(0), None)
    except KeyboardInterrupt:
        stop_workers(pool)
        raise
    return outcomes
