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


def rows(results: Path) -> pd.DataFrame:
    records = []
    for path in result_files(results):
        result = load_result(path)
        metric = result.task["primary_metric"]
        for split, metrics in result.summary["metrics"].items():
            if split == "train":
                continue
            stat = metrics[metric]
            records.append(
                {
                    "task": result.task["id"],
                    "split": split,
                    "metric": metric,
                    "method": result.method["name"],
                    "cell": f"{100 * stat['mean']:.1f} ± {100 * stat['std']:.1f} (n={stat['n']})",
                }
            )
    return pd.DataFrame.from_records(records)


def replace_table(path: Path, table: str) -> None:
    """Swap the markdown table of `path` that has `table`'s header row for `table`."""
    lines = path.read_text().split("\n")
    new = table.split("\n")
    try:
        start = lines.index(new[0])
    except ValueError:
        raise SystemExit(f"{path}: no table with the header row {new[0]!r}") from None
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    path.write_text("\n".join(lines[:start] + new + lines[end:]))


def markdown_table(results: Path, methods: list[str], splits: list[str] | None) -> str:
    """One row per (task, split, metric), one column per method, then the published number.

    "no file": no committed result file (not run, or run and not committed; the page says why).
    """
    frame = rows(results)
    if splits:
        frame = frame[frame.split.isin(splits)]
    table = frame.pivot_table(
        index=["task", "split", "metric"], columns="method", values="cell", aggfunc="first"
    )
    table = table.reindex(columns=methods).astype(object).fillna("no file")
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
    args = parser.parse_args()
    markdown = markdown_table(
        args.results, args.methods.split(","), args.splits.split(",") if args.splits else None
    )
    if args.update:
        replace_table(args.update, markdown)
    else:
        print(markdown)


if __name__ == "__main__":
    main()
