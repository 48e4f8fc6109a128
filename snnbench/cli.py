"""The `snnbench` command line: list tasks and methods, evaluate, validate and verify result
files, build and serve the leaderboard site."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from snnbench.errors import SnnbenchError, UnknownNameError, UsageError

app = typer.Typer(
    help="snnbench: standard tasks, one honest harness and a leaderboard for SNN training methods.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
leaderboard_app = typer.Typer(
    help="Build the static leaderboard site from result files, and serve it locally.",
    no_args_is_help=True,
)
app.add_typer(leaderboard_app, name="leaderboard")
console = Console()
err = Console(stderr=True)


def progress_bar() -> Progress:
    """The rich progress bar every long command draws on stderr."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.command()
def tasks() -> None:
    """List the standard tasks: id, version, shape, splits and primary metric."""
    from snnbench.tasks import TASKS

    table = Table(title="snnbench tasks")
    table.add_column("id", no_wrap=True)
    for col in ("ver", "kind", "T", "in", "outputs", "splits", "metric", "data"):
        table.add_column(col)
    for t in TASKS.values():
        heads = " + ".join(f"{name}:{c}" for name, c in t.heads)
        table.add_row(
            t.id,
            t.version,
            t.kind,
            str(t.steps),
            str(t.n_in),
            heads,
            " ".join(t.splits),
            t.primary_metric,
            t.data_source,
        )
    console.print(table)
    console.print("Cards: `snnbench card TASK`.  --task also takes a family name or `all`.")


@app.command()
def card(task: Annotated[str, typer.Argument(help="Task id, e.g. add-b3.")]) -> None:
    """Show a task's card: definition, splits, metrics, reference numbers."""
    from snnbench.tasks import get_task

    try:
        t = get_task(task)
    except UnknownNameError as exc:
        fail(str(exc), 2)
    console.print(Markdown(files("snnbench.cards").joinpath(t.card).read_text()))


@app.command()
def methods() -> None:
    """List the registered methods (built in and from installed plugins), and refuse those
    that cannot run: an import error, a class name that disagrees with its entry point, or a
    name that two entry points claim."""

    from snnbench.methods import available_methods, get_method

    table = Table(title="snnbench methods")
    table.add_column("name", no_wrap=True)
    for col in ("version", "code", "status", "description"):
        table.add_column(col)
    for name, ep in available_methods().items():
        try:
            method = get_method(name)
            table.add_row(
                name, escape(method.version), ep.value, "[green]ok[/]", escape(method.description)
            )
        except SnnbenchError as exc:
            table.add_row(
                escape(name), "?", escape(ep.value), f"[red]refused: {escape(str(exc))}[/]", ""
            )
    console.print(table)


MAX_SEED = 2**32 - 1  # torch, numpy and numba all take seeds of 32 bits


def parse_seeds(text: str) -> list[int]:
    """Distinct seeds in [0, 2**32 - 1], comma-separated."""
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise UsageError(f"--seeds {text!r}: give comma-separated integers, e.g. 0,1,2") from None
    if not seeds or len(set(seeds)) != len(seeds) or not all(0 <= s <= MAX_SEED for s in seeds):
        raise UsageError(
            f"--seeds {text!r}: give distinct integers from 0 to {MAX_SEED}, e.g. 0,1,2"
        )
    return seeds


@app.command()
def evaluate(
    method: Annotated[
        str,
        typer.Option(help="Method name (see `snnbench methods`) or `all`; comma-separate several."),
    ],
    task: Annotated[
        str, typer.Option(help="Task id, family (e.g. add) or `all`; comma-separate several.")
    ],
    seeds: Annotated[
        str, typer.Option(help="Comma-separated seeds, each 0 to 2**32 - 1.")
    ] = "0,1,2",
    preset: Annotated[
        str, typer.Option(help="Config preset: quick (CI-sized) or paper (published sizes).")
    ] = "paper",
    out: Annotated[
        Path,
        typer.Option(
            help="Results folder (created if missing); files go to OUT/<method>/<task>.json."
        ),
    ] = Path("results"),
    data_dir: Annotated[
        Optional[str],
        typer.Option(
            help="Folder with the MNIST files (else $SNNBENCH_DATA_DIR, else Hugging Face)."
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Recompute every seed, replacing an existing result file."),
    ] = False,
    settings: Annotated[
        Optional[list[str]],
        typer.Option(
            "--set",
            help="Override a setting of the method's config, KEY=VALUE in TOML syntax; repeatable. "
            "A grid key becomes a grid of that value (or list).  E.g. --set solver=cvxpy "
            "(recon's readouts by the reference solver), --set epochs=5, "
            "--set 'beta_reg=[0.1, 1.0]'. "
            "Unknown keys and wrong types are refused; the values are recorded in the result file.",
        ),
    ] = None,
    jobs: Annotated[
        int,
        typer.Option(
            min=1,
            help="(method, task, seed) jobs run at once, each in its own process with its threads "
            "pinned; 1 runs them one after another in this process.",
        ),
    ] = 1,
    threads: Annotated[
        Optional[int],
        typer.Option(
            min=1,
            help="torch / numba threads per job (recorded in each result); default: all cores "
            "with --jobs 1, else the cores divided by --jobs.  The same thread count gives the "
            "same numbers, however many jobs run.",
        ),
    ] = None,
) -> None:
    """Train METHOD on TASK for each seed, select on val, score on test and OOD splits.

    Methods, tasks and seeds expand into (method, task, seed) jobs; seeds already recorded are
    skipped.  Every input (methods, tasks, preset, --set, seeds, --out) is checked before any
    work; bad input exits with code 2 and one line.  Each finished seed is written at once as
    its own record; rerun the same command after an interruption and it resumes with the seeds
    still missing.  A failed job is reported with its log and does not stop the others (exit
    code 1 at the end).
    """
    from snnbench.config import parse_setting
    from snnbench.jobs import Settings, expand, resolve_methods
    from snnbench.tasks import resolve_tasks

    try:
        seed_list = parse_seeds(seeds)
        overrides = dict(parse_setting(text) for text in settings or [])
        chosen = resolve_tasks(task)
        for t in chosen:  # missing data is reported before torch and the methods are imported
            if t.check_data is not None:
                t.check_data(data_dir)
        method_list = resolve_methods(method)
        from snnbench.evaluate import check_output_folder, plan, prepare
        from snnbench.results import ResultStore

        for m in method_list:
            for t in chosen:
                plan(m, t, preset, overrides)
        check_output_folder(out)
    except UsageError as exc:
        fail(str(exc), 2)
    except SnnbenchError as exc:
        fail(str(exc))
    try:  # what is already recorded, refused now if it cannot be resumed
        done = {}
        for m in method_list:
            for t in chosen:
                if force:
                    ResultStore(out, m, t.id).clear()
                done[(m, t.id)] = prepare(m, t, preset, out, data_dir, overrides).finished
    except SnnbenchError as exc:
        fail(str(exc))
    per_job = threads or (None if jobs == 1 else max(1, (os.cpu_count() or 1) // jobs))
    config = Settings(preset, out, data_dir, overrides, per_job)
    grid = expand(method_list, [t.id for t in chosen], seed_list)
    pending = [j for j in grid if j.seed not in done[(j.method, j.task)]]
    try:
        failures = (run_serially if jobs == 1 else run_in_workers)(
            pending, grid, done, config, jobs
        )
    except KeyboardInterrupt:
        err.print(f"interrupted: finished seeds are saved under {out}; rerun to resume")
        raise typer.Exit(130) from None
    print_summary(method_list, [t.id for t in chosen], out)
    if failures:
        for line in failures:
            err.print(f"[red]failed[/] {escape(line)}", highlight=False, soft_wrap=True)
        fail(f"{len(failures)} failure(s) among {len(pending)} job(s); finished seeds are saved")


def run_serially(pending: list, grid: list, done: dict, config, workers: int) -> list[str]:
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


def run_in_workers(pending: list, grid: list, done: dict, config, workers: int) -> list[str]:
    """Jobs in worker processes, with a live table of the whole grid."""
    from rich.live import Live

    from snnbench.jobs import run_parallel

    state = {job: "done" if job.seed in done[(job.method, job.task)] else "queued" for job in grid}
    seconds: list[float] = []

    def table() -> Table:
        view = Table(
            title=f"{len(grid)} jobs on {workers} workers, {config.threads} thread(s) each"
        )
        for col in ("method", "task", "done", "running", "failed", "queued"):
            view.add_column(col)
        for key in dict.fromkeys((j.method, j.task) for j in grid):
            counts = [
                sum(1 for j in grid if (j.method, j.task) == key and state[j] == s)
                for s in ("done", "running", "failed", "queued")
            ]
            view.add_row(*key, *map(str, counts))
        left = sum(1 for s in state.values() if s in ("queued", "running"))
        if seconds and left:
            view.caption = f"about {left * sum(seconds) / len(seconds) / workers / 60:.0f} min left"
        return view

    with Live(table(), console=err, refresh_per_second=2) as live:

        def event(kind: str, job, outcome) -> None:
            state[job] = "running" if kind == "started" else kind
            if outcome is not None and not outcome.error:
                seconds.append(outcome.train_seconds)
            live.update(table())

        outcomes = run_parallel(pending, config, workers, event)
    return [f"{o.job.name}: {o.error}" for o in outcomes if o.error]


def print_summary(methods: list[str], tasks: list[str], out: Path) -> None:
    from snnbench.results import load_result, summary_path

    for method in methods:
        for task in tasks:
            path = summary_path(out, method, task)
            if not path.exists():
                continue
            result = load_result(path)
            s, primary = result.summary, result.task["primary_metric"]
            table = Table(title=f"{method} on {task}: {primary} (%, mean ± std over seeds)")
            for col in ("split", primary, "seeds"):
                table.add_column(col, no_wrap=True)
            for split in (k for k in result.task["splits"] if k != "train"):
                stat = s["metrics"][split][primary]
                table.add_row(
                    split, f"{100 * stat['mean']:.1f} ± {100 * stat['std']:.1f}", str(stat["n"])
                )
            console.print(table)
            chosen = "; ".join(
                f"seed {r['seed']}: "
                + ", ".join(f"{k}={v}" for k, v in r["chosen_hyperparameters"].items())
                for r in result.runs
            )
            console.print(f"chosen on val: {chosen or '(no grid)'}")
            console.print(
                f"spikes/sample {s['spikes_per_sample']['mean']:.1f}, "
                f"train {s['train_seconds']['mean']:.1f} s/seed, "
                f"eval {s['eval_seconds']['mean']:.1f} s/seed"
            )
            console.print(f"wrote {path} (seed records in {path.with_suffix('')}/)", soft_wrap=True)


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Result files (JSON) to check.")],
    data_dir: Annotated[
        Optional[str], typer.Option(help="MNIST folder, to check smnist fingerprints.")
    ] = None,
) -> None:
    """Check result files (summaries or seed records): size, encoding, nesting, NaN; the schema
    (older versions migrated); seeds, the summary, the chosen point against the selection, the
    task header against the registry, spiking against the network kind, copied runs, and the
    fingerprints.  Every file is checked and reported, one line per problem."""

    from snnbench.results import validate_file

    errors = 0
    for path in paths:
        problems = validate_file(path, data_dir)
        bad = [p for p in problems if p.level == "error"]
        errors += len(bad)
        for p in problems:
            color = "red" if p.level == "error" else "yellow"
            (err if p.level == "error" else console).print(
                f"[{color}]{p.level}[/] {escape(str(p))}", highlight=False, soft_wrap=True
            )
        if not bad:
            console.print(f"[green]ok[/] {escape(str(path))}", highlight=False, soft_wrap=True)
    if errors:
        fail(f"{errors} problem(s) in {len(paths)} file(s)")


@app.command()
def verify(
    path: Annotated[
        Path, typer.Argument(help="A result file, e.g. leaderboard/results/recon/add-b3.json.")
    ],
    seed: Annotated[int, typer.Option(help="The seed to re-run.")] = 0,
    tolerance: Annotated[
        float,
        typer.Option(help="Largest accepted absolute difference of any metric (0.01 = one point)."),
    ] = 0.01,
    data_dir: Annotated[Optional[str], typer.Option(help="MNIST folder, for smnist tasks.")] = None,
) -> None:
    """Re-run one seed of a result file with its recorded config and compare every metric.

    Exit code 0 when the chosen hyperparameters are the same and every metric of every split is
    within the tolerance; 1 otherwise.
    """
    from snnbench.verify import verify_seed

    try:
        with progress_bar() as bar:
            job = bar.add_task(f"re-running seed {seed} of {path}", total=None)
            result = verify_seed(
                path, seed, tolerance, data_dir, lambda d, t: bar.update(job, completed=d, total=t)
            )
    except SnnbenchError as exc:
        fail(str(exc))
    for note in result.notes:
        console.print(f"[yellow]note[/] {note}", highlight=False)
    table = Table(title=f"{path}, seed {seed}: claimed vs re-run (%)")
    for col in ("split", "metric", "claimed", "re-run", "difference"):
        table.add_column(col)
    for split, metric, claimed, rerun in result.comparisons:
        bad = abs(claimed - rerun) > tolerance
        table.add_row(
            split,
            metric,
            f"{100 * claimed:.2f}",
            f"{100 * rerun:.2f}",
            f"{'[red]' if bad else ''}{100 * (rerun - claimed):+.2f}",
        )
    console.print(table)
    console.print(
        f"chosen hyperparameters: claimed {result.chosen_claimed}, re-run {result.chosen_rerun}",
        highlight=False,
    )
    if result.exact:
        console.print("[green]reproduced exactly[/]")
    elif result.reproduces:
        console.print(
            f"[green]reproduced[/] within {tolerance} "
            f"(largest difference {result.max_difference:.4f})"
        )
    else:
        fail(
            f"NOT reproduced: largest difference {result.max_difference:.4f} "
            f"(tolerance {tolerance})"
            + (
                ""
                if result.chosen_claimed == result.chosen_rerun
                else "; the chosen hyperparameters differ"
            )
        )


@leaderboard_app.command("build")
def leaderboard_build(
    results: Annotated[
        Path, typer.Option(help="Folder of result files (searched recursively).")
    ] = Path("leaderboard/results"),
    out: Annotated[
        Path,
        typer.Option(
            help="Site folder: built beside it and swapped in when complete; only an empty "
            "folder or a site snnbench built is replaced, never --results or a folder around it."
        ),
    ] = Path("leaderboard/site"),
    data_dir: Annotated[
        Optional[str], typer.Option(help="MNIST folder, to check smnist fingerprints.")
    ] = None,
) -> None:
    """Validate every result file and generate the static site (fails on any invalid file,
    leaving the previous site as it was)."""
    from snnbench.leaderboard import build_site

    try:
        site = build_site(results, out, data_dir)
    except UsageError as exc:
        fail(str(exc), 2)
    except SnnbenchError as exc:
        fail(str(exc))
    console.print(
        f"built {site / 'index.html'}; browse with `snnbench leaderboard serve --site {out}`",
        soft_wrap=True,
    )


@leaderboard_app.command("serve")
def leaderboard_serve(
    site: Annotated[Path, typer.Option(help="The built site folder.")] = Path("leaderboard/site"),
    port: Annotated[
        int,
        typer.Option(help="Port on localhost, 0 to 65535 (0 picks a free one).", min=0, max=65535),
    ] = 8000,
) -> None:
    """Serve the built site on http://127.0.0.1:PORT until interrupted."""
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    if not (site / "index.html").is_file():
        fail(f"{site} has no index.html; run `snnbench leaderboard build --out {site}` first", 2)
    handler = partial(SimpleHTTPRequestHandler, directory=str(site))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        fail(
            f"cannot serve on 127.0.0.1:{port}: {exc.strerror}; pick another --port (0: any free)",
            2,
        )
    with server:
        console.print(
            f"serving {site} at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)"
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    app()
