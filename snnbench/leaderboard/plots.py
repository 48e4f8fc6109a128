"""SVG figures drawn at build time with matplotlib: accuracy against sequence length.

Text is drawn as paths (matplotlib's default `svg.fonttype`), so a method name from a
submitted file can never become markup inside the SVG; ids are salted for byte-identical
rebuilds.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from snnbench.tasks import TASKS, Task


def to_svg(fig) -> str:
    buffer = io.StringIO()
    with plt.rc_context({"svg.hashsalt": "snnbench", "svg.fonttype": "path"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def line_plot(
    series: dict[str, pd.DataFrame],
    xlabel: str,
    ylabel: str,
    title: str,
    chance: float | None,
    published: dict[float, float] | None = None,
) -> str:
    """One line per method: columns x, mean, std; `published` (x -> score) as markers."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for name, frame in sorted(series.items()):
        frame = frame.sort_values("x")
        ax.errorbar(
            frame.x, 100 * frame["mean"], yerr=100 * frame["std"], marker="o", capsize=3, label=name
        )
    if published:
        xs = sorted(published)
        ys = [100 * published[x] for x in xs]
        ax.scatter(
            xs, ys, marker="*", s=120, color="black", zorder=5, label="reported in the paper"
        )
    if chance is not None:
        ax.axhline(100 * chance, color="grey", linestyle=":", linewidth=1, label="chance")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title, ylim=(0, 102))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="best")
    return to_svg(fig)


def chance_level(task: Task) -> float | None:
    """Accuracy of guessing one class of a sequence task; token tasks draw no chance line."""
    return 1 / task.heads[0][1] if task.kind == "sequence" else None


def split_length_svg(scores: pd.DataFrame, task: Task, group: str) -> str | None:
    """The primary metric against sequence length over a task's test and OOD splits; None
    when they all have one length (nothing to plot)."""
    splits = [s for s in task.eval_splits if s != "val"]
    if len({task.length(s) for s in splits}) < 2:
        return None
    part = scores[
        (scores.task == task.id)
        & (scores.group == group)
        & (scores.metric == task.primary_metric)
        & scores.split.isin(splits)
    ]
    if part.empty:
        return None
    part = part.assign(x=part.split.map(task.length))
    series = {name: frame for name, frame in part.groupby("method")}
    current = part.version.iloc[0] == task.version
    return line_plot(
        series,
        f"sequence length T ({task.steps} = in distribution)",
        f"{task.primary_metric} (%)",
        f"{task.id}: length generalisation",
        chance_level(task),
        {task.length(s): v for s, v in task.published.items() if s in splits} if current else None,
    )


def family_test_scores(scores: pd.DataFrame, family: str) -> pd.DataFrame:
    """The primary metric on test of a family's tasks, current task versions only."""
    current = scores.task.map(lambda t: TASKS[t].version if t in TASKS else None) == scores.version
    return scores[
        current
        & (scores.family == family)
        & (scores.split == "test")
        & (scores.metric == scores.primary_metric)
    ]


def family_length_svg(scores: pd.DataFrame, family: str) -> str | None:
    """Test score against T over a family's tasks (current versions); None when the family's
    scored tasks all have one length."""
    tasks = [t for t in TASKS.values() if t.family == family]
    part = family_test_scores(scores, family)
    if part.empty or part.task.map(lambda t: TASKS[t].steps).nunique() < 2:
        return None
    part = part.assign(x=part.task.map(lambda t: TASKS[t].steps))
    series = {name: frame for name, frame in part.groupby("method")}
    metric = tasks[0].primary_metric
    return line_plot(
        series,
        "sequence length T",
        f"test {metric} (%)",
        f"{family}: {metric} against T",
        chance_level(tasks[0]),
        {t.steps: t.published["test"] for t in tasks if "test" in t.published},
    )


COSTS = {
    "synops_per_sample": "synaptic operations per test sample (NeuroBench, measured)",
    "train_seconds": "train wall seconds per seed",
}


def pareto_front(points: pd.DataFrame) -> pd.DataFrame:
    """The points no other point beats on both axes (lower cost, higher score)."""
    ordered = points.sort_values(["cost", "mean"], ascending=[True, False])
    front, best = [], float("-inf")
    for _, p in ordered.iterrows():
        if p["mean"] > best:
            front.append(p)
            best = p["mean"]
    return pd.DataFrame(front)


def pareto_svg(scores: pd.DataFrame, family: str, cost: str) -> str | None:
    """Test score against a cost (COSTS) over a family's current task versions: one point
    per (method, task), colour by method, marker by task, and each task's Pareto front
    (scores of different tasks are not compared with each other); train times carry their
    runs' thread count in the legend, which the times depend on.  None when nothing has
    that cost."""
    part = family_test_scores(scores, family)
    part = part[part[cost].notna() & (part[cost] > 0)].assign(cost=lambda f: f[cost])
    if part.empty:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    tasks = [t for t in TASKS if t in set(part.task)]
    markers = {t: "osD^vP*Xh"[i % 9] for i, t in enumerate(tasks)}
    colours = {}
    groups = part.groupby(["method", part.threads.astype(str)])
    for (name, threads), frame in sorted(groups, key=lambda g: g[0]):
        label = name if cost != "train_seconds" else f"{name} ({threads} thr.)"
        colour = colours.setdefault(label, f"C{len(colours) % 10}")
        for task, points in frame.groupby("task"):
            ax.scatter(points.cost, 100 * points["mean"], marker=markers[task], color=colour,
                       label=label if task == frame.task.iloc[0] else None)  # fmt: skip
    for task in tasks:
        front = pareto_front(part[part.task == task])
        ax.plot(front.cost, 100 * front["mean"], color="grey", linewidth=0.8, linestyle="--")
    for task in tasks:  # a legend entry per task marker
        ax.scatter([], [], marker=markers[task], facecolors="none", edgecolors="black", label=task)
    metric = part.primary_metric.iloc[0]
    ax.set(xscale="log", xlabel=COSTS[cost], ylabel=f"test {metric} (%)",
           title=f"{family}: score against cost (dashed: each task's Pareto front)")  # fmt: skip
    ax.grid(alpha=0.3)
    ax.legend(fontsize="x-small", loc="best")
    return to_svg(fig)
