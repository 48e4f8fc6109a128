"""The index's overview: one matrix of methods x tasks, the primary metric on test of each
task's current version, with the shared ranks of ranks.py.

Rows are the ranked (spiking) methods by mean rank over the tasks they have, then the
non-spiking references, set apart and unranked.  A method with files of several presets on a
task shows its paper-preset file.  The best cells of a column are those ranked first, marked
only where at least two methods are ranked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from snnbench.leaderboard.collect import Collection, board_ranks, ranking
from snnbench.tasks import TASKS


@dataclass
class Cell:
    task: str
    mean: float
    std: float
    n: int
    rank: int  # 0 for a reference
    best: bool
    outdated: bool  # scored by an older version of the method than the installed one


@dataclass
class Row:
    method: str
    slug: str
    spiking: bool
    cells: dict[str, Cell] = field(default_factory=dict)

    @property
    def mean_rank(self) -> float | None:
        ranks = [c.rank for c in self.cells.values() if c.rank]
        return sum(ranks) / len(ranks) if ranks else None


def one_per_method(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """A board with one row per method (its paper-preset file where it has two), ranked
    again among those rows: a method's second preset must not compete with the others, or
    with itself."""
    table = table.assign(paper=table.preset != "paper").sort_values("paper", kind="stable")
    table = table.drop_duplicates("method").copy()
    table["rank"] = board_ranks(table, metric)
    return table


def current_group(scores: pd.DataFrame, task_id: str) -> str | None:
    """The data group of the task's current version with the most score rows, if any."""
    part = scores[(scores.task == task_id) & (scores.version == TASKS[task_id].version)]
    part = part[part.split == "test"]
    return part.group.value_counts().index[0] if not part.empty else None


def overview(collection: Collection, method_versions: dict[str, str]) -> dict:
    """{"tasks": task ids (registry order), "ranked": rows, "references": rows}."""
    scores = collection.scores
    rows: dict[str, Row] = {}
    tasks = []
    for task_id, task in TASKS.items():
        group = current_group(scores, task_id)
        if group is None:
            continue
        tasks.append(task_id)
        table = one_per_method(ranking(scores, task_id, group, "test"), task.primary_metric)
        ranked = int((table["rank"] > 0).sum())
        metric = task.primary_metric
        for _, r in table.iterrows():
            row = rows.setdefault(r.method, Row(r.method, r.slug, bool(r.spiking)))
            row.cells[task_id] = Cell(
                task_id,
                r[f"{metric}_mean"],
                r[f"{metric}_std"],
                int(r[f"{metric}_n"]),
                int(r["rank"]),
                ranked >= 2 and r["rank"] == 1,
                method_versions.get(r.method, r.method_version) != r.method_version,
            )
    ranked_rows = sorted(
        (r for r in rows.values() if r.spiking),
        key=lambda r: (r.mean_rank is None, r.mean_rank or 0, r.method),
    )
    references = sorted((r for r in rows.values() if not r.spiking), key=lambda r: r.method)
    return {"tasks": tasks, "ranked": ranked_rows, "references": references}
