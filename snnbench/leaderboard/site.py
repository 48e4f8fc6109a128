"""Render the static leaderboard site from the collected results with jinja2.

Layout of the output folder:

    index.html                  every task family, its tasks and their leaders
    tasks/<task id>.html        one ranked table per split and task version, the length plot
    methods/<slug>.html         description, code, paper, configs, chosen values, every score
    plots/*.svg                 figures drawn at build time
    static/                     the CSS and the table-sorting script (no CDN, works from disk)

Autoescaping is on for every template, so no string from a result file is ever markup.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import datetime, timezone
from importlib.resources import files
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

import snnbench
from snnbench.environment import git_commit
from snnbench.errors import UsageError
from snnbench.leaderboard import plots
from snnbench.leaderboard.collect import MIN_SEEDS, Collection, collect, ranking
from snnbench.leaderboard.downloads import (
    ARCHIVE,
    copy_result_files,
    write_networks_archive,
    write_score_tables,
)
from snnbench.leaderboard.overview import one_per_method, overview
from snnbench.leaderboard.pages import inside, page_slug
from snnbench.leaderboard.ranks import RULE as RANK_RULE
from snnbench.tasks import TASKS, Task, families


def percent(value: float) -> str:
    return f"{100 * value:.1f}"


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("snnbench.leaderboard", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["percent"] = percent
    env.filters["pretty_json"] = lambda value: json.dumps(value, indent=2, sort_keys=True)
    return env


def installed_methods() -> dict[str, tuple[str, type]]:
    """Each registered method's entry point (module:Class) and class, as installed now:
    its version flags scores of older ones, its changelog goes on its page.  Submitted
    methods may not be installed."""
    from snnbench.methods import available_methods

    return {name: (ep.value, ep.load()) for name, ep in available_methods().items()}


def submit_page_html() -> str:
    """CONTRIBUTING.md of the checkout the site is built from, as HTML (raw HTML in it is
    escaped, not passed through); a pointer to the file where the checkout has none."""
    from markdown_it import MarkdownIt

    path = Path(__file__).resolve().parents[2] / "CONTRIBUTING.md"
    if not path.is_file():
        return "<p>See CONTRIBUTING.md in the snnbench repository.</p>"
    return MarkdownIt("commonmark", {"html": False}).render(path.read_text())


def repository_url() -> str | None:
    """The package's declared repository (Project-URL "Repository"), for links to the code
    at a commit; None where none is declared (the pages then name the commit only)."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        urls = metadata("snnbench").get_all("Project-URL") or []
    except PackageNotFoundError:
        return None
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "repository" and url.strip().startswith("https://"):
            return url.strip().rstrip("/")
    return None


def source_url(entry_point: str | None, repo: str | None, commit: str) -> str | None:
    """A link to the module of an entry point (module:Class) at the site's commit."""
    if not entry_point or not repo or commit == "unknown" or commit.endswith("-dirty"):
        return None  # a build from uncommitted code has no commit to point at
    module = entry_point.split(":", 1)[0].replace(".", "/")
    if module.startswith("snnbench/baselines"):  # shipped from the repo's baselines/ folder
        module = module.removeprefix("snnbench/")
    return f"{repo}/blob/{commit}/{module}.py"



def task_sections(collection: Collection, task_id: str) -> list[dict]:
    """Per task version (group): the ranked table of every split that has scores."""
    scores = collection.scores[collection.scores.task == task_id]
    sections = []
    current = TASKS[task_id].version
    for group, part in sorted(
        scores.groupby("group"), key=lambda item: item[1].version.iloc[0] != current
    ):
        splits = [s for s in TASKS[task_id].eval_splits if s in set(part.split)]
        metrics = list(dict.fromkeys(part.metric))
        primary = part.primary_metric.iloc[0]
        metrics.remove(primary)
        is_current = part.version.iloc[0] == current
        tables = [
            {
                "split": s,
                "rows": ranking(collection.scores, task_id, group, s).to_dict("records"),
                # the paper's number is for the current task definition only
                "published": TASKS[task_id].published.get(s) if is_current else None,
            }
            for s in splits
        ]
        sections.append(
            {
                "group": group,
                "version": part.version.iloc[0],
                "current": is_current,
                "primary": primary,
                "metrics": metrics,
                "tables": tables,
            }
        )
    return sections


def leaders_on_test(collection: Collection, task: Task, part: pd.DataFrame) -> list[dict]:
    """Every method tied for first on the test split of the current version (ranks.py);
    none on a board with fewer than two ranked methods, where first means nothing.
    References are unranked."""
    if "test" not in set(part.split):
        return []
    board = ranking(collection.scores, task.id, part.group.iloc[0], "test")
    ranked = one_per_method(board, task.primary_metric)
    if (ranked["rank"] > 0).sum() < 2:
        return []
    first = ranked[ranked["rank"] == 1]
    metric = f"{task.primary_metric}_mean"
    return [{"method": r.method, "slug": r.slug, "score": r[metric]} for _, r in first.iterrows()]


def index_families(collection: Collection) -> list[dict]:
    out = []
    for family in families():
        rows = []
        for task in (t for t in TASKS.values() if t.family == family):
            part = collection.scores[
                (collection.scores.task == task.id) & (collection.scores.version == task.version)
            ]
            rows.append(
                {
                    "task": task,
                    "methods": part.method.nunique(),
                    "leaders": leaders_on_test(collection, task, part),
                }
            )
        out.append({"name": family, "tasks": rows})
    return out


class SiteFolderError(UsageError):
    """An --out the build may not replace; nothing was written or deleted."""


MARKER = ".snnbench-site"  # written into every site we build: only such a folder is replaced


def check_site_folder(results: Path, out: Path) -> None:
    """Refuse an --out that would destroy what the build did not make: the results folder, a
    folder holding it or inside it, a file, or a non-empty folder that is not one of our sites."""
    r, o = results.resolve(), out.resolve()
    if o == r or r.is_relative_to(o) or o.is_relative_to(r):
        raise SiteFolderError(
            f"--out {out} is, holds or lies inside --results {results}; pick another folder"
        )
    if out.exists() and not out.is_dir():
        raise SiteFolderError(f"--out {out} is a file, not a site folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise SiteFolderError(
            f"--out {out} is not empty and is not a site snnbench built (no {MARKER}); "
            "it is left as it is: empty it or pick another folder"
        )


def build_site(
    results_dir: str | Path,
    out_dir: str | Path,
    data_dir: str | None = None,
    repo_url: str | None = None,
) -> Path:
    """Validate and collect the results, write the whole site into a new folder beside
    out_dir, and swap it in only when it is complete (a failed build leaves the old site).
    repo_url (else the package's declared repository) makes commits links to the code."""
    results, target = Path(results_dir), Path(out_dir)
    check_site_folder(results, target)
    collection = collect(results, data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    try:
        networks = write_networks_archive(results, out / ARCHIVE)
        write_site(collection, out, networks, (repo_url or repository_url() or "").rstrip("/"))
        (out / MARKER).write_text(
            "built by snnbench leaderboard build; this folder is replaced on rebuild\n"
        )
        out.chmod(0o755)  # mkdtemp makes 0700; a site is for serving
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        if target.exists():
            target.rename(old)
        out.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    return target


def write_site(collection: Collection, out: Path, networks: int = 0, repo_url: str = "") -> None:
    """Every page, plot and static file of the site into the folder out (which holds at most
    the networks archive, with `networks` networks)."""
    for sub in ("tasks", "methods", "plots", "static"):
        (out / sub).mkdir(parents=True)
    copy_result_files(collection.scores, out)
    write_score_tables(collection.scores, out)
    for name in ("style.css", "sort.js"):
        (out / "static" / name).write_text(
            files("snnbench.leaderboard").joinpath("static", name).read_text()
        )

    env = environment()
    footer = {
        "version": snnbench.__version__,
        "commit": git_commit() or "unknown",
        "built": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    scores = collection.scores

    def write(relative: str, template: str, root: str, **context) -> None:
        html = env.get_template(template).render(
            root=root, footer=footer, min_seeds=MIN_SEEDS, rank_rule=RANK_RULE, **context
        )
        inside(out, relative).write_text(html)

    family_plots, pareto_plots = {}, {}
    for family in families():
        svg = plots.family_length_svg(scores, family)
        if svg:
            family_plots[family] = f"{page_slug(family)}.svg"
            inside(out / "plots", family_plots[family]).write_text(svg)
        for cost in plots.COSTS:
            svg = plots.pareto_svg(scores, family, cost)
            if svg:
                name = f"{page_slug(family)}-pareto-{cost}.svg"
                pareto_plots.setdefault(family, []).append({"file": name, "cost": cost})
                inside(out / "plots", name).write_text(svg)
    installed = installed_methods()
    versions = {name: str(cls.version) for name, (_, cls) in installed.items()}
    write(
        "index.html",
        "index.html",
        "",
        overview=overview(collection, versions),
        families=index_families(collection),
        warnings=collection.warnings,
        methods=sorted(collection.methods.values(), key=lambda m: m.name),
        family_plots=family_plots,
        pareto_plots=pareto_plots,
        costs=plots.COSTS,
        networks=networks,
        archive=ARCHIVE,
    )

    for task_id in sorted(set(scores.task)):
        task = TASKS[task_id]
        sections = task_sections(collection, task_id)
        for section in sections:
            svg = plots.split_length_svg(scores, task, section["group"])
            section["plot"] = None
            if svg:
                section["plot"] = f"{task_id}-{section['group']}.svg"
                inside(out / "plots", section["plot"]).write_text(svg)
        write(
            f"tasks/{task_id}.html",
            "task.html",
            "../",
            task=task,
            sections=sections,
            method_versions=versions,
            family_plot=family_plots.get(task.family),
        )

    write("submit.html", "submit.html", "", body=submit_page_html())
    locations = {name: entry for name, (entry, _) in installed.items()}
    changelogs = {name: dict(cls.changelog) for name, (_, cls) in installed.items()}
    for info in collection.methods.values():
        mine = scores[scores.slug == info.slug]
        table = mine[mine.metric == mine.primary_metric].assign(
            task_order=lambda f: f.task.map(list(TASKS).index),
            split_order=lambda f: [
                TASKS[t].splits.index(x) for t, x in zip(f.task, f.split, strict=True)
            ],
        )  # registry and display order: t6 < t8 < t11, test < ood-2x < ood-10x, not as text
        table = table.sort_values(["task_order", "split_order", "preset"])
        code = locations.get(info.name)
        write(
            f"methods/{info.slug}.html",
            "method.html",
            "../",
            method=info,
            code=code,
            code_url=source_url(code, repo_url, footer["commit"]),
            repo_url=repo_url,
            changelog=changelogs.get(info.name, {}),
            scores=table.to_dict("records"),
        )
