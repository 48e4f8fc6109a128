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

from snnbench.tasks import TASKS
from snnbench.tasks.addition import SPLITS as ADD_SPLITS

ADD_LENGTH_SPLITS = ("test", "ood-2x", "ood-5x", "ood-10x")


def to_svg(fig) -> str:
    buffer = io.StringIO()
    with plt.rc_context({"svg.hashsalt": "snnbench", "svg.fonttype": "path"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def line_plot(
    series: dict[str, pd.DataFrame], xlabel: str, ylabel: str, title: str, chance: float | None
) -> str:
    """One line per method: columns x, mean, std."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for name, frame in sorted(series.items()):
        frame = frame.sort_values("x")
        ax.errorbar(
            frame.x, 100 * frame["mean"], yerr=100 * frame["std"], marker="o", capsize=3, label=name
        )
    if chance is not None:
        ax.axhline(100 * chance, color="grey", linestyle=":", linewidth=1, label="chance")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title, ylim=(0, 102))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="best")
    return to_svg(fig)


def add_length_svg(scores: pd.DataFrame, task_id: str, group: str) -> str | None:
    """Token accuracy against the number of digits (in distribution, 2x, 5x, 10x)."""
    part = scores[
        (scores.task == task_id)
        & (scores.group == group)
        & (scores.metric == "token_accuracy")
        & scores.split.isin(ADD_LENGTH_SPLITS)
    ]
    if part.empty:
        return None
    part = part.assign(x=part.split.map(lambda s: ADD_SPLITS[s][1]))
    series = {name: frame for name, frame in part.groupby("method")}
    base = TASKS[task_id].params["base"]
    return line_plot(
        series,
        "digits per number (5 = in distribution)",
        "token accuracy (%)",
        f"{task_id}: length generalisation",
        1 / base,
    )


def xor_length_svg(scores: pd.DataFrame) -> str | None:
    """Test accuracy against sequence length T over the first-last-xor tasks (current versions)."""
    current = scores.task.map(lambda t: TASKS[t].version) == scores.version
    part = scores[
        current
        & (scores.family == "first-last-xor")
        & (scores.split == "test")
        & (scores.metric == "accuracy")
    ]
    if part.empty:
        return None
    part = part.assign(x=part.task.map(lambda t: TASKS[t].steps))
    series = {name: frame for name, frame in part.groupby("method")}
    return line_plot(
        series, "sequence length T", "test accuracy (%)", "first-last-xor: accuracy against T", 0.5
    )
