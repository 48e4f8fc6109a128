"""Print the reproduction table (docs/reproduction.md) from the result files, beside the
published numbers of tasks.md, so that no number in the docs is copied by hand.

    python leaderboard/reproduction_table.py [--results leaderboard/results] [--methods a,b] [--splits test,ood-10x]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

# Best published test numbers (recon paper, via tasks.md): task -> split -> percent.
PUBLISHED = {
    "first-last-xor": {"test": 100.0},
    "add-b3": {"test": 36.6, "ood-2x": 31.4, "ood-5x": 30.7, "ood-10x": 31.0},
    "add-b5": {"test": 23.0, "ood-2x": 18.8, "ood-5x": 17.3, "ood-10x": 17.2},
    "smnist": {"test": 92.5},
}
METHODS = ["recon", "sg-recon", "recon-sg", "sg", "reservoir"]


def published(task: str, split: str) -> float | None:
    for key in (task, task.rsplit("-t", 1)[0], "smnist" if "smnist" in task else ""):
        if key in PUBLISHED and split in PUBLISHED[key]:
            return PUBLISHED[key][split]
    return None


def rows(results: Path) -> pd.DataFrame:
    records = []
    for path in sorted(results.glob("*/*.json")):
        doc = json.loads(path.read_text())
        metric = doc["task"]["primary_metric"]
        for split, metrics in doc["summary"]["metrics"].items():
            if split == "train":
                continue
            stat = metrics[metric]
            records.append({
                "task": doc["task"]["id"], "split": split, "metric": metric, "method": doc["method"]["name"],
                "cell": f"{100 * stat['mean']:.1f} ± {100 * stat['std']:.1f} (n={stat['n']})",
            })
    return pd.DataFrame.from_records(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=Path("leaderboard/results"))
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated columns, in order")
    parser.add_argument("--splits", default=None, help="comma-separated splits to keep (default: all but train)")
    args = parser.parse_args()
    frame = rows(args.results)
    if args.splits:
        frame = frame[frame.split.isin(args.splits.split(","))]
    table = frame.pivot_table(index=["task", "split", "metric"], columns="method", values="cell", aggfunc="first")
    table = table.reindex(columns=args.methods.split(",")).astype(object).fillna("not run")
    table["published"] = [f"{p:.1f}" if (p := published(t, s)) is not None else "-" for t, s, _ in table.index]
    print(table.reset_index().to_markdown(index=False))


if __name__ == "__main__":
    main()
