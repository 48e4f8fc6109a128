"""The `snnbench` command line: list tasks and methods, evaluate, validate and verify result
files, build and serve the leaderboard site."""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

from snnbench.errors import SnnbenchError, StaleResultsError, UnknownNameError, UsageError
from snnbench.ui import console, err, fail, progress_bar

app = typer.Typer(
    help="snnbench: standard tasks, one honest harness and a leaderboard for SNN training methods.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # docstring lines join into paragraphs; `code` is shown as code
)
leaderboard_app = typer.Typer(
    help="Build the static leaderboard site from result files, and serve it locally.",
    no_args_is_help=True,
)
app.add_typer(leaderboard_app, name="leaderboard")


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


STALE_CHOICES = ("refuse", "rerun", "skip")
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
            help="Results folder (created if missing); files go to `OUT/METHOD/TASK.json`."
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
    stale: Annotated[
        str,
        typer.Option(
            help="Results recorded with another method or task definition (an older version, "
            "another config): refuse (exit 1, naming them), rerun (replace them with every "
            "seed run anew) or skip (leave them as they are)."
        ),
    ] = "refuse",
    executor: Annotated[
        str,
        typer.Option(
            help="Where jobs run: local (this machine) or slurm (a job array through submitit; "
            "see the README's Slurm section)."
        ),
    ] = "local",
    executor_opt: Annotated[
        Optional[list[str]],
        typer.Option(
            "--executor-opt",
            help="Slurm option KEY=VALUE, repeatable, over --executor-profile: partition, time "
            "(minutes per job), cpus_per_task (= threads), mem_gb, account, array_parallelism, "
            "max_requeues, setup, or sbatch.FLAG for any other sbatch flag.",
        ),
    ] = None,
    executor_profile: Annotated[
        Optional[Path],
        typer.Option(help="TOML file of Slurm options (the keys of --executor-opt; [sbatch])."),
    ] = None,
    detach: Annotated[
        bool,
        typer.Option(
            "--detach",
            help="With --executor slurm: submit and return; `snnbench status OUT` re-attaches.",
        ),
    ] = False,
) -> None:
    """Train METHOD on TASK for each seed, select on val, score on test and OOD splits.

    Methods, tasks and seeds expand into (method, task, seed) jobs; seeds already recorded are
    skipped.  Every input (methods, tasks, preset, --set, seeds, --out) is checked before any
    work; bad input exits with code 2 and one line.  Each finished seed is written at once as
    its own record; rerun the same command after an interruption and it resumes with the seeds
    still missing.  A failed job is reported with its log and does not stop the others (exit
    code 1 at the end).
    """
    from snnbench.jobs import Settings, worker_pool

    per_job = threads or (None if jobs == 1 else max(1, (os.cpu_count() or 1) // jobs))
    # The workers start now, so that their imports (torch, the methods) overlap the checks;
    # any exit before the jobs run stops them.
    try:
        with worker_pool(jobs if executor == "local" else 1, per_job) as pool:
            inputs = checked_inputs(
                method, task, seeds, preset, out, data_dir, settings, stale,
                (executor, executor_opt or [], executor_profile, jobs, threads, detach),
            )  # fmt: skip
            done = recorded_seeds(inputs, preset, out, data_dir, force, stale)
            run_jobs(inputs, done, Settings(preset, out, data_dir, inputs.overrides, per_job),
                     executor, detach, pool)  # fmt: skip
    except KeyboardInterrupt:
        err.print(f"interrupted: finished seeds are saved under {out}; rerun to resume")
        raise typer.Exit(130) from None


@dataclass(frozen=True)
class Inputs:
    """evaluate's options, checked: seeds, --set overrides, tasks, methods, Slurm profile."""

    seeds: list[int]
    overrides: dict
    tasks: list
    methods: list[str]
    profile: dict | None


def checked_inputs(
    method, task, seeds, preset, out, data_dir, settings, stale, executor_args
) -> Inputs:
    """Every input checked before any work: exit 2 (usage) or 1 (other) with one line."""
    from snnbench.config import parse_setting
    from snnbench.jobs import resolve_methods
    from snnbench.tasks import resolve_tasks

    try:
        seed_list = parse_seeds(seeds)
        overrides = dict(parse_setting(text) for text in settings or [])
        chosen = resolve_tasks(task)
        for t in chosen:  # missing data is reported before the methods are imported
            if t.check_data is not None:
                t.check_data(data_dir)
        method_list = resolve_methods(method)
        profile = check_executor(*executor_args)
        if stale not in STALE_CHOICES:
            raise UsageError(f"--stale {stale!r}: choose {', '.join(STALE_CHOICES)}")
        from snnbench.evaluate import check_output_folder, plan

        for m in method_list:
            for t in chosen:
                plan(m, t, preset, overrides)
        check_output_folder(out)
    except UsageError as exc:
        fail(str(exc), 2)
    except SnnbenchError as exc:
        fail(str(exc))
    return Inputs(seed_list, overrides, chosen, method_list, profile)


def recorded_seeds(
    inputs: Inputs, preset: str, out: Path, data_dir, force: bool, stale: str
) -> dict[tuple[str, str], set[int]]:
    """(method, task) -> seeds already recorded; refused now if they cannot be resumed, or
    cleared (--force, --stale rerun); stale pairs skipped with --stale skip are left out."""
    from snnbench.evaluate import prepare
    from snnbench.results import ResultStore

    def finished(m: str, t) -> set[int]:
        return prepare(m, t, preset, out, data_dir, inputs.overrides).finished

    try:
        done, skipped = {}, []
        for m in inputs.methods:
            for t in inputs.tasks:
                if force:
                    ResultStore(out, m, t.id).clear()
                try:
                    done[(m, t.id)] = finished(m, t)
                except StaleResultsError:
                    if stale == "refuse":
                        raise
                    if stale == "skip":
                        skipped.append(f"{m} on {t.id}")
                        continue
                    err.print(f"replacing the stale results of {m} on {t.id}", highlight=False)
                    ResultStore(out, m, t.id).clear()
                    done[(m, t.id)] = finished(m, t)
    except SnnbenchError as exc:
        fail(str(exc))
    if skipped:
        err.print(f"skipped (stale results left as they are): {', '.join(skipped)}")
    return done


def run_jobs(inputs: Inputs, done: dict, config, executor: str, detach: bool, pool) -> None:
    """The pending jobs of the grid: in this process, on the worker pool, or on Slurm."""
    from snnbench.jobs import expand
    from snnbench.runners import run_in_workers, run_on_slurm, run_serially

    task_ids = [t.id for t in inputs.tasks]
    grid = [
        j for j in expand(inputs.methods, task_ids, inputs.seeds) if (j.method, j.task) in done
    ]
    pending = [j for j in grid if j.seed not in done[(j.method, j.task)]]
    if executor == "slurm":
        failures = run_on_slurm(pending, grid, config, inputs.profile, detach)
        if detach:
            return
    elif pool is None:
        failures = run_serially(pending, grid, done, config)
    else:
        failures = run_in_workers(pending, grid, done, config, pool)
    print_summary(inputs.methods, task_ids, out=config.out)
    if failures:
        report_failures(failures)
        fail(f"{len(failures)} failure(s) among {len(pending)} job(s); finished seeds are saved")


def report_failures(failures: list[str]) -> None:
    for line in failures:
        err.print(f"[red]failed[/] {escape(line)}", highlight=False, soft_wrap=True)


def check_executor(
    executor: str,
    options: list[str],
    profile: Optional[Path],
    jobs: int,
    threads: Optional[int],
    detach: bool,
) -> dict | None:
    """The Slurm profile for --executor slurm (None for local); UsageError for a bad one."""
    from snnbench.config import parse_setting

    if executor not in ("local", "slurm"):
        raise UsageError(f"--executor {executor!r}: choose local or slurm")
    if executor == "local":
        if options or profile or detach:
            raise UsageError(
                "--executor-opt, --executor-profile and --detach need --executor slurm"
            )
        return None
    if jobs != 1:
        raise UsageError("--jobs is for the local executor; on Slurm every job is its own task")
    if threads is not None:
        raise UsageError("on Slurm a job's threads are its CPUs: --executor-opt cpus_per_task=N")
    from snnbench.slurm import check_client, read_profile

    settings = read_profile(profile, [parse_setting(text, "--executor-opt") for text in options])
    check_client()
    return settings


def print_summary(methods: list[str], tasks: list[str], out: Path) -> None:
    """Each (method, task)'s scores; for a grid of more than three, one line each."""
    from snnbench.results import load_result, summary_path

    pairs = [(m, t) for m in methods for t in tasks if summary_path(out, m, t).exists()]
    if len(pairs) > 3:
        table = Table(title=f"{len(pairs)} result files in {out} (%, mean ± std over seeds)")
        for col in ("method", "task", "metric", "test", "seeds"):
            table.add_column(col, no_wrap=True)
        for method, task in pairs:
            result = load_result(summary_path(out, method, task))
            primary = result.task["primary_metric"]
            stat = result.summary["metrics"][result.task["splits"][0]][primary]
            table.add_row(
                method,
                task,
                primary,
                f"{100 * stat['mean']:.1f} ± {100 * stat['std']:.1f}",
                str(stat["n"]),
            )
        console.print(table)
        return
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
def status(
    out: Annotated[Path, typer.Argument(help="A results folder (evaluate's --out).")],
    watch: Annotated[
        bool,
        typer.Option("--watch", help="Re-attach: refresh until no Slurm job is queued or running."),
    ] = False,
) -> None:
    """Show the jobs of a results folder: seeds recorded per (method, task), and the state of
    each job submitted to Slurm from it (queued, running, failed with its log), read from
    sacct.  Exit code 1 if any submitted job failed."""
    from snnbench.runners import show_status

    try:
        failures = show_status(out, watch)
    except UsageError as exc:
        fail(str(exc), 2)
    except SnnbenchError as exc:
        fail(str(exc))
    if failures:
        report_failures(failures)
        fail(f"{len(failures)} failed job(s); rerun the evaluate command to resubmit them")


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


@app.command()
def rescore(
    path: Annotated[
        Path, typer.Argument(help="A summary (OUT/METHOD/TASK.json) or one seed record.")
    ],
    data_dir: Annotated[Optional[str], typer.Option(help="MNIST folder, for smnist tasks.")] = None,
) -> None:
    """Score the saved networks of a result file again, without training, and compare.

    Each seed's network (`seed-N.safetensors` beside its record, as evaluate saves it) is
    checked against the record (size, sha256, spec, weights) and scored by the task on every
    split the run reports.  Exit code 0 when every metric of every seed is exactly as
    recorded; 1 when any differs, a network is missing, or the file is invalid.
    """
    from snnbench.rescore import rescore_file

    try:
        checks = rescore_file(path, data_dir)
    except SnnbenchError as exc:
        fail(str(exc))
    table = Table(title=f"{path}: recorded vs rescored")
    for col in ("seed", "split", "metric", "recorded", "rescored", "same"):
        table.add_column(col)
    for check in checks:
        if check.missing:
            table.add_row(
                str(check.seed), "-", "-", "-", "-", f"[yellow]no network: {check.missing}"
            )
        for split, metric, recorded, again in check.comparisons:
            same = "[green]yes[/]" if recorded == again else "[red]NO[/]"
            table.add_row(str(check.seed), split, metric, f"{recorded:.6g}", f"{again:.6g}", same)
    console.print(table)
    if not all(c.exact for c in checks):
        fail("NOT every seed rescored exactly as recorded")
    console.print(f"[green]every metric of {len(checks)} seed(s) rescored exactly[/]")


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
    repo_url: Annotated[
        Optional[str],
        typer.Option(
            help="https URL of the repository (e.g. https://github.com/OWNER/snnbench), for "
            "links to the code at each result's commit; default: the package's Repository "
            "Project-URL, else the pages name the commit without a link."
        ),
    ] = None,
) -> None:
    """Validate every result file and generate the static site (fails on any invalid file,
    leaving the previous site as it was)."""
    from snnbench.leaderboard import build_site

    if repo_url is not None and not repo_url.startswith("https://"):
        fail(f"--repo-url {repo_url!r}: give an https:// URL", 2)
    try:
        site = build_site(results, out, data_dir, repo_url)
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
