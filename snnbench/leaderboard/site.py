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
import shutil
from datetime import datetime, timezone
from importlib.resources import files
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

import snnbench
from snnbench.environment import git_commit
from snnbench.leaderboard import plots
from snnbench.leaderboard.collect import MIN_SEEDS, Collection, collect, ranking
from snnbench.leaderboard.pages import inside
from snnbench.tasks import TASKS, Task, families

# Splits in the order a reader wants them: the test score first, validation last.
SPLIT_ORDER = ("test", "ood-2x", "ood-5x", "ood-10x", "val")


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


def code_locations() -> dict[str, str]:
    """Registered methods' entry points (module:Class); submitted methods may not be installed."""
    from snnbench.methods import available_methods

    return {name: ep.value for name, ep in available_methods().items()}


def installed_versions() -> dict[str, str]:
    """The version of every registered method as installed now, to flag scores of older versions."""
    from snnbench.methods import available_methods

    return {name: str(ep.load().version) for name, ep in available_methods().items()}


def task_sections(collection: Collection, task_id: str) -> list[dict]:
    """Per task version (group): the ranked table of every split that has scores."""
    scores = collection.scores[collection.scores.task == task_id]
    sections = []
    current = TASKS[task_id].version
    for group, part in sorted(
        scores.groupby("group"), key=lambda item: item[1].version.iloc[0] != current
    ):
        splits = [s for s in SPLIT_ORDER if s in set(part.split)]
        metrics = list(dict.fromkeys(part.metric))
        primary = part.primary_metric.iloc[0]
        metrics.remove(primary)
        tables = [
            {"split": s, "rows": ranking(collection.scores, task_id, group, s).to_dict("records")}
            for s in splits
        ]
        sections.append(
            {
                "group": group,
                "version": part.version.iloc[0],
                "current": part.version.iloc[0] == current,
                "primary": primary,
                "metrics": metrics,
                "tables": tables,
            }
        )
    return sections


def leader_on_test(collection: Collection, task: Task, part: pd.DataFrame) -> dict | None:
    """The rank-1 method on the test split of the current version (references are unranked)."""
    if "test" not in set(part.split):
        return None
    ranked = ranking(collection.scores, task.id, part.group.iloc[0], "test")
    first = ranked[ranked["rank"] == 1]
    if first.empty:
        return None
    top = first.iloc[0]
    return {"method": top.method, "slug": top.slug, "score": top[f"{task.primary_metric}_mean"]}


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
                    "leader": leader_on_test(collection, task, part),
                }
            )
        out.append({"name": family, "tasks": rows})
    return out


def build_site(results_dir: str | Path, out_dir: str | Path, data_dir: str | None = None) -> Path:
    """Validate and collect the results, then write the whole site into out_dir (replaced)."""
    collection = collect(results_dir, data_dir)
    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)
    for sub in ("tasks", "methods", "plots", "static"):
        (out / sub).mkdir(parents=True)
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
            root=root, footer=footer, min_seeds=MIN_SEEDS, **context
        )
        inside(out, relative).write_text(html)

    xor_svg = plots.xor_length_svg(scores)
    if xor_svg:
        (out / "plots" / "first-last-xor.svg").write_text(xor_svg)
    write(
        "index.html",
        "index.html",
        "",
        families=index_families(collection),
        warnings=collection.warnings,
        methods=sorted(collection.methods.values(), key=lambda m: m.name),
        xor_plot=bool(xor_svg),
    )

    versions = installed_versions()
    for task_id in sorted(set(scores.task)):
        sections = task_sections(collection, task_id)
        for section in sections:
            svg = (
                plots.add_length_svg(scores, task_id, section["group"])
                if TASKS[task_id].family == "add"
                else None
            )
            section["plot"] = None
            if svg:
                section["plot"] = f"{task_id}-{section['group']}.svg"
                inside(out / "plots", section["plot"]).write_text(svg)
        write(
            f"tasks/{task_id}.html",
            "task.html",
            "../",
            task=TASKS[task_id],
            sections=sections,
            method_versions=versions,
            xor_plot=bool(xor_svg) and TASKS[task_id].family == "first-last-xor",
        )

    locations = code_locations()
    for info in collection.methods.values():
        mine = scores[scores.slug == info.slug]
        table = mine[mine.metric == mine.primary_metric].sort_values(["task", "split"])
        write(
            f"methods/{info.slug}.html",
            "method.html",
            "../",
            method=info,
            code=locations.get(info.name),
            scores=table.to_dict("records"),
        )
    return out
