"""How `snnbench evaluate` runs its jobs and shows them: one after another in this process,
in local worker processes (`--jobs N`), or on Slurm (`--executor slurm`); and `snnbench
status`, the same live grid read back from a results folder (re-attaching to Slurm jobs)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from rich.live import Live
from rich.markup import escape
from rich.table import Table

from snnbench.errors import SnnbenchError
from snnbench.jobs import Job, Settings
from snnbench.results.store import RESUME
from snnbench.ui import err, fail, progress_bar

STATES = ("done", "running", "failed", "queued")


def grid_table(grid: list[Job], state: dict[Job, str], title: str, caption: str = "") -> Table:
    """One row per (method, task): how many of its seeds are done, running, failed, queued
    (and, in `status`, started: a mid-fit state saved, no record yet)."""
    view = Table(title=title, caption=caption or None)
    states = [*STATES, *(["started"] if "started" in state.values() else [])]
    for col in ("method", "task", *states):
        view.add_column(col, overflow="fold")  # a narrow terminal wraps names, never cuts them
    for key in dict.fromkeys((j.method, j.task) for j in grid):
        jobs = [j for j in grid if (j.method, j.task) == key]
        counts = (str(sum(state[j] == s for j in jobs)) for s in states)
        view.add_row(*map(escape, key), *counts)  # names from a manifest are not markup
    return view


def time_left(state: dict[Job, str], seconds: list[float], workers: int) -> str:
    """Estimated from the train times recorded so far."""
    left = sum(1 for s in state.values() if s in ("queued", "running"))
    if not seconds or not left:
        return ""
    return f"about {left * sum(seconds) / len(seconds) / workers / 60:.0f} min left"


def run_serially(pending: list[Job], grid: list[Job], done: dict, config: Settings) -> list[str]:
    """Jobs one after another in this process, each (method, task)'s seeds in one evaluate
    call (its data loaded once), with a progress bar per seed."""
    from snnbench.jobs import run_seeds

    groups: dict[tuple[str, str], list[int]] = {}
    for job in pending:
        groups.setdefault((job.method, job.task), []).append(job.seed)
    failures = []
    with progress_bar() as bar:
        for (method, task), seeds in groups.items():
            rows = {
                seed: bar.add_task(f"{method} on {task}, seed {seed}", total=None) for seed in seeds
            }

            def update(seed: int, done: int, total: int, rows=rows) -> None:
                bar.update(rows[seed], completed=done, total=total)

            try:
                run_seeds(method, task, seeds, config, update)
            except SnnbenchError as exc:
                if len(groups) == 1:
                    bar.stop()
                    fail(str(exc))
                failures.append(f"{method} on {task}: {exc}")
    return failures


def run_in_workers(
    pending: list[Job], grid: list[Job], done: dict, config: Settings, pool
) -> list[str]:
    """Jobs on a `jobs.worker_pool`, with a live table of the whole grid."""
    from snnbench.jobs import run_parallel

    workers = pool._max_workers

    state = {job: "done" if job.seed in done[(job.method, job.task)] else "queued" for job in grid}
    seconds: list[float] = []
    title = f"{len(grid)} jobs on {workers} workers, {config.threads} thread(s) each"
    with Live(grid_table(grid, state, title), console=err, refresh_per_second=2) as live:

        def event(kind: str, job, outcome) -> None:
            state[job] = "running" if kind == "started" else kind
            if outcome is not None and not outcome.error:
                seconds.append(outcome.own_seconds)
            live.update(grid_table(grid, state, title, time_left(state, seconds, workers)))

        outcomes = run_parallel(pending, config, pool, event)
    return [f"{o.job.name}: {o.error}" for o in outcomes if o.error]


def recorded(out: Path):
    """job -> whether its seed is recorded under out (summary or seed record)."""
    from snnbench.results import ResultStore

    return lambda job: job.seed in ResultStore(out, job.method, job.task).recorded_seeds()


def watch_slurm(out: Path, grid: list[Job], fixed: bool = True) -> list[str]:
    """The live grid of out's Slurm jobs until none is queued or running; the failures among
    the grid's jobs (with fixed=False, as `status` uses it, the grid grows to every job
    submitted from out).  Ctrl-C detaches (the jobs keep running on the cluster)."""
    from snnbench import slurm

    is_recorded = recorded(out)
    state = {job: "done" if is_recorded(job) else "queued" for job in grid}
    details: dict[Job, tuple[str, str]] = {}
    title = f"{len(grid)} jobs on Slurm (results in {out})"
    with Live(grid_table(grid, state, title), console=err, refresh_per_second=1) as live:

        def update(states: dict[Job, tuple[str, str]]) -> None:
            details.update(states)
            if not fixed:
                grid.extend(j for j in states if j not in state)
            state.update((job, s) for job, (s, _) in states.items())
            live.update(grid_table(grid, state, title, "Ctrl-C detaches; jobs keep running"))

        try:
            slurm.wait(out, is_recorded, update)
        except KeyboardInterrupt:
            live.stop()
            err.print(
                f"detached: the jobs keep running on the cluster; `snnbench status {out} "
                "--watch` re-attaches"
            )
            raise SystemExit(130) from None
    wanted = set(grid)
    return [
        f"{job.name}: {detail}"
        for job, (s, detail) in details.items()
        if s == "failed" and job in wanted
    ]


def run_on_slurm(
    pending: list[Job], grid: list[Job], config: Settings, profile: dict, detach: bool
) -> list[str]:
    """Submit the pending jobs not already queued or running on Slurm (a rerun resubmits only
    what failed or was never submitted), then watch them unless detached."""
    from snnbench import slurm

    states = slurm.job_states(config.out, recorded(config.out))
    active = {job for job, (s, _) in states.items() if s in ("queued", "running")}
    latest = {s.job: s for s in slurm.submissions(config.out)}
    clash = [
        job for job in pending if job in active and latest[job].config != slurm.config_key(config)
    ]
    if clash:
        ids = ", ".join(latest[job].slurm_id for job in clash[:5])
        fail(
            f"{len(clash)} of these jobs are queued or running on Slurm with another preset or "
            f"--set (Slurm ids {ids}); wait for them, or `scancel` them, then rerun"
        )
    todo = [job for job in pending if job not in active]
    if not todo and not active:
        err.print(f"nothing to submit: all {len(grid)} job(s) are recorded in {config.out}")
        return []
    try:
        made = slurm.submit(todo, config, profile) if todo else []
    except SnnbenchError as exc:
        fail(str(exc))
    ids = sorted({s.slurm_id.split("_")[0] for s in made})
    err.print(
        f"submitted {len(made)} job(s) to Slurm{' (array ' + ', '.join(ids) + ')' if ids else ''}"
        f"; {len(active)} already queued or running; files under {slurm.slurm_folder(config.out)}",
        highlight=False,
        soft_wrap=True,
    )
    if detach:
        err.print(f"detached: `snnbench status {config.out} --watch` re-attaches")
        return []
    return watch_slurm(config.out, grid)


def started_seeds(out: Path) -> dict[Job, str]:
    """Seeds with a mid-fit state under out (OUT/<method>/<task>/seed-<n>.resume/state-*.pt,
    snnbench/checkpoints.py), by the time their newest state was saved (UTC)."""
    found = {}
    for folder in out.glob("*/*/seed-*.resume"):
        seed = RESUME.match(folder.name)
        saved = list(folder.glob("state-*.pt")) if seed else []
        if saved:
            newest = max(p.stat().st_mtime for p in saved)
            stamp = datetime.fromtimestamp(newest, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
            found[Job(folder.parent.parent.name, folder.parent.name, int(seed[1]))] = stamp
    return found


def status_grid(out: Path) -> tuple[list[Job], dict[Job, str], dict[Job, str]]:
    """Every job known under out: recorded seeds and Slurm submissions; (grid, state, detail)."""
    from snnbench import slurm
    from snnbench.results import ResultStore, result_files

    is_recorded = recorded(out)
    grid: dict[Job, None] = {}
    for path in result_files(out):
        if path.parent.parent.resolve() != out.resolve():
            continue  # OUT/<method>/<task>.json only
        store = ResultStore(out, path.parent.name, path.stem)
        grid.update((Job(path.parent.name, path.stem, s), None) for s in store.recorded_seeds())
    state = {job: "done" for job in grid}
    detail: dict[Job, str] = {}
    for job, saved in started_seeds(out).items():
        if job not in grid:
            grid[job], state[job] = None, "started"
            detail[job] = f"mid-fit state saved {saved}; the same evaluate command continues it"
    for job, (s, d) in slurm.job_states(out, is_recorded).items():
        grid[job] = None
        state[job], detail[job] = s, d
    jobs = sorted(grid, key=lambda j: (j.method, j.task, j.seed))
    return jobs, state, detail


def show_status(out: Path, watch: bool) -> list[str]:
    """Print (or, with watch, follow) out's grid; the failures."""
    jobs, state, detail = status_grid(out)
    if not jobs:
        fail(f"{out} has no results and no Slurm submissions", 2)
    if watch and any(s in ("queued", "running") for s in state.values()):
        return watch_slurm(out, jobs, fixed=False)
    err.print(grid_table(jobs, state, f"{len(jobs)} jobs in {out}"))
    for job in jobs:
        if state[job] in ("running", "queued", "started") and detail.get(job):
            err.print(f"{state[job]} {escape(job.name)}: {escape(detail[job])}", highlight=False)
    return [f"{job.name}: {detail[job]}" for job in jobs if state[job] == "failed"]
