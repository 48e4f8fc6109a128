"""Print the reproduction table (docs/reproduction.md) from the result files, beside the
published numbers the tasks carry (Task.published, from tasks.md), so that no number in the
docs is copied by hand.

    python leaderboard/reproduction_table.py [--results leaderboard/results] [--methods a,b]
                                             [--splits test,ood-10x] [--update docs/reproduction.md]

With --update, the table in that file whose header row is the one printed here is replaced in
place (the docs are regenerated, never edited by hand).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from snnbench.results import load_result, result_files
from snnbench.tasks import TASKS

METHODS = ["recon", "sg-recon", "recon-sg", "sg", "reservoir"]


def published(task: str, split: str) -> float | None:
    """The task's published number for the split, in percent (Task.published)."""
    value = TASKS[task].published.get(split) if task in TASKS else None
    return None if value is None else 100 * value


def synops_cell(summary: dict) -> str:
    """Effective synaptic operations (ACs + MACs) per test sample, mean over seeds."""
    efficiency = summary.get("efficiency", {})
    if "effective_acs" not in efficiency:
        return "not measured"
    total = efficiency["effective_acs"]["mean"] + efficiency["effective_macs"]["mean"]
    return f"{total:,.0f} (n={efficiency['effective_acs']['n']})"


def rows(results: Path, value: str = "score") -> pd.DataFrame:
    """One record per (file, split): the primary metric's cell, or (value "synops", test
    only, where efficiency is measured) the synaptic operations' cell."""
    records = []
    for path in result_files(results):
        result = load_result(path)
        metric = result.task["primary_metric"]
        for split, metrics in result.summary["metrics"].items():
            if split == "train" or (value == "synops" and split != "test"):
                continue
            stat = metrics[metric]
            score = f"{100 * stat['mean']:.1f} ± {100 * stat['std']:.1f} (n={stat['n']})"
            records.append(
                {
                    "task": result.task["id"],
                    "split": split,
                    "metric": metric if value == "score" else "synaptic ops / sample",
                    "method": result.method["name"],
                    "cell": score if value == "score" else synops_cell(result.summary),
                }
            )
    return pd.DataFrame.from_records(records)


def cells(line: str) -> list[str]:
    """A markdown table row's cells, without their padding (widths follow the content)."""
    return [c.strip() for c in line.strip().strip("|").split("|")]


def replace_table(path: Path, table: str) -> None:
    """Swap the markdown table of `path` that has `table`'s header row (the same cells,
    whatever their padding) for `table`."""
    lines = path.read_text().split("\n")
    new = table.split("\n")
    header = cells(new[0])
    start = next(
        (i for i, line in enumerate(lines) if line.startswith("|") and cells(line) == header),
        None,
    )
    if start is None:
        raise SystemExit(f"{path}: no table with the header row {new[0]!r}")
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    path.write_text("\n".join(lines[:start] + new + lines[end:]))


def markdown_table(
    results: Path, methods: list[str], splits: list[str] | None, value: str = "score"
) -> str:
    """One row per (task, split, metric), one column per method, then the published number
    (scores; none for synaptic operations).

    "no file": no committed result file (not run, or run and not committed; the page says why).
    """
    frame = rows(results, value)
    if splits:
        frame = frame[frame.split.isin(splits)]
    table = frame.pivot_table(
        index=["task", "split", "metric"], columns="method", values="cell", aggfunc="first"
    )
    table = table.reindex(columns=methods).astype(object).fillna("no file")
    if value == "synops":
        return table.reset_index().to_markdown(index=False)
    table["published"] = [
        f"{p:.1f}" if (p := published(t, s)) is not None else "-" for t, s, _ in table.index
    ]
    return table.reset_index().to_markdown(index=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results", type=Path, default=Path("leaderboard/results"))
    parser.add_argument(
        "--methods", default=",".join(METHODS), help="comma-separated columns, in order"
    )
    parser.add_argument(
        "--splits", default=None, help="comma-separated splits to keep (default: all but train)"
    )
    parser.add_argument(
        "--update", type=Path, default=None, help="replace this file's table in place"
    )
    parser.add_argument(
        "--value",
        choices=("score", "synops"),
        default="score",
        help="cells: the primary metric (default) or synaptic operations per test sample",
    )
    args = parser.parse_args()
    markdown = markdown_table(
        args.results,
        args.methods.split(","),
        args.splits.split(",") if args.splits else None,
        args.value,
    )
    if args.update:
        replace_table(args.update, markdown)
    else:
        print(markdown)


if __name__ == "__main__":
    main()
