"""Read the result files, refuse invalid ones, and flatten them into pandas frames.

Only files that pass `snnbench validate` are published: the first invalid file stops the
build with its path and reason.  Every score row carries a `group` key made of the task
version and a digest of the split fingerprints, so results computed on different data are
never ranked against each other.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from snnbench.errors import SnnbenchError
from snnbench.leaderboard.pages import http_links, page_slug
from snnbench.leaderboard.ranks import SeedStats, shared_ranks
from snnbench.results import Problem, ResultFile, load_result, result_files, validate_file

MIN_SEEDS = 3  # fewer seeds than this are marked on every page


class InvalidResultError(SnnbenchError):
    """A result file that may not be published; the message names the file and the reason."""


@dataclass
class MethodInfo:
    """What a method page shows, gathered from every result file of that method."""

    name: str
    slug: str
    description: str
    paper: str | None
    links: list[str]
    versions: set[str] = field(default_factory=set)
    files: list[dict] = field(default_factory=list)  # per task: preset, config, grid, chosen


@dataclass
class Collection:
    scores: pd.DataFrame  # one row per (file, split, metric)
    methods: dict[str, MethodInfo]  # by slug
    warnings: list[Problem]


def fingerprint_digest(fingerprints: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(fingerprints, sort_keys=True).encode()).hexdigest()[:12]


def load_valid(
    results_dir: Path, data_dir: str | None = None
) -> tuple[list[tuple[Path, ResultFile]], list[Problem]]:
    """Every result file under results_dir, validated; raises on the first file with an error."""
    paths = result_files(results_dir)
    if not paths:
        raise InvalidResultError(f"no result files (*.json) under {results_dir}")
    documents, warnings = [], []
    for path in paths:
        problems = validate_file(path, data_dir)
        errors = [p for p in problems if p.level == "error"]
        if errors:
            listed = "\n  ".join(str(p) for p in errors)
            raise InvalidResultError(
                f"{path} is not a valid result file, nothing was built:\n  {listed}"
            )
        warnings += problems
        documents.append((path, load_result(path)))
    return documents, warnings


def threads_of(environment: dict) -> int | str:
    """The run's torch thread count, or "?" (files from before it was recorded)."""
    threads = environment.get("torch_threads")
    return threads if isinstance(threads, int) and not isinstance(threads, bool) else "?"


def synops_per_sample(summary: dict) -> float | None:
    """Effective synaptic operations (ACs + MACs, NeuroBench's definitions) per test sample,
    mean over seeds; None when not measured (files before schema version 3, the GRU)."""
    efficiency = summary.get("efficiency", {})
    if "effective_acs" not in efficiency or "effective_macs" not in efficiency:
        return None
    return efficiency["effective_acs"]["mean"] + efficiency["effective_macs"]["mean"]


def score_rows(path: Path, result: ResultFile) -> list[dict]:
    method, task, summary, runs = result.method, result.task, result.summary, result.runs
    common = {
        "method": method["name"],
        "slug": page_slug(method["name"]),
        "method_version": method["version"],
        "preset": method["preset"],
        "task": task["id"],
        "family": task["family"],
        "version": task["version"],
        "group": f"{task['version']}-{fingerprint_digest(task['fingerprints'])}",
        "primary_metric": task["primary_metric"],
        "params": sum(r["model"]["num_parameters"] for r in runs) / len(runs),
        "spiking": result.spiking,
        "spikes_per_sample": summary["spikes_per_sample"]["mean"],
        "synops_per_sample": synops_per_sample(summary),
        "train_seconds": summary["train_seconds"]["mean"],
        "threads": threads_of(result.environment),
        "hardware": f"{result.environment.get('cpu', '?')}, "
        f"{result.environment.get('torch_threads', '?')} torch thread(s), "
        f"{result.environment.get('platform', '?')}",
        "commit": result.environment.get("git_commit"),
        # only a full hash names code that exists ("-dirty": uncommitted changes)
        "commit_is_hash": bool(
            re.fullmatch(r"[0-9a-f]{40}", str(result.environment.get("git_commit")))
        ),
        "file": str(path),
        # where the site serves its copy of the file
        "file_href": f"results/{page_slug(method['name'])}/{task['id']}-"
        f"{page_slug(method['preset'])}.json",
    }
    return [
        {
            **common,
            "split": split,
            "metric": metric,
            "mean": stat["mean"],
            "std": stat["std"],
            "n": stat["n"],
        }
        for split, metrics in summary["metrics"].items()
        for metric, stat in metrics.items()
    ]


def collect(results_dir: str | Path, data_dir: str | None = None) -> Collection:
    documents, warnings = load_valid(Path(results_dir), data_dir)
    rows: list[dict] = []
    methods: dict[str, MethodInfo] = {}
    seen: dict[tuple, Path] = {}
    for path, result in documents:
        method, task = result.method, result.task
        key = (method["name"], task["id"], method["preset"])
        if key in seen:
            raise InvalidResultError(
                f"{path} and {seen[key]} both hold {key[0]} on {key[1]} ({key[2]} preset); keep one"
            )
        seen[key] = path
        rows += score_rows(path, result)
        slug = page_slug(method["name"])
        info = methods.get(slug)
        if info is None:
            info = methods[slug] = MethodInfo(
                method["name"],
                slug,
                method["description"],
                method.get("paper"),
                http_links(method.get("paper")),
            )
        elif info.name != method["name"]:
            raise InvalidResultError(
                f"{path}: method names {info.name!r} and {method['name']!r} share the page {slug}"
            )
        info.versions.add(method["version"])
        info.files.append(
            {
                "task": task["id"],
                "preset": method["preset"],
                "version": method["version"],
                "config": method["config"],
                "grid": method["grid"],
                "chosen": {r["seed"]: r["chosen_hyperparameters"] for r in result.runs},
                "file": str(path),
            }
        )
    return Collection(pd.DataFrame(rows), methods, warnings)


def board_ranks(table: pd.DataFrame, metric: str) -> list[int]:
    """Each row's shared rank by `metric` (ranks.py) among the spiking rows; 0 for the
    non-spiking references, which are not ranked."""
    spiking = table.spiking.astype(bool).tolist()
    stats = [
        SeedStats(m, sd, int(n))
        for m, sd, n, s in zip(
            table[f"{metric}_mean"], table[f"{metric}_std"], table[f"{metric}_n"], spiking,
            strict=True,
        )
        if s
    ]  # fmt: skip
    ranks = iter(shared_ranks(stats))
    return [next(ranks) if s else 0 for s in spiking]


def ranking(scores: pd.DataFrame, task: str, group: str, split: str) -> pd.DataFrame:
    """One row per method on one split of one task version: all metrics, ranked by the primary.

    Methods whose seed scores cannot be told apart share a rank (ranks.py states the rule);
    methods with fewer than MIN_SEEDS seeds are flagged.  Only spiking methods are ranked: a
    non-spiking reference (the GRU) is listed in score order with rank 0, shown as "ref", and
    never pushes an SNN method down.
    """
    part = scores[(scores.task == task) & (scores.group == group) & (scores.split == split)]
    primary = part.primary_metric.iloc[0]
    index = [
        "method",
        "method_version",
        "slug",
        "preset",
        "spiking",
        "params",
        "spikes_per_sample",
        "train_seconds",
        "threads",
        "hardware",
        "file_href",
    ]
    table = part.pivot_table(
        index=index, columns="metric", values=["mean", "std", "n"], aggfunc="first"
    )
    table.columns = [f"{metric}_{stat}" for stat, metric in table.columns]
    # not in the pivot's index: a missing figure (None) there would drop the row
    synops = part.groupby(["method", "preset"]).synops_per_sample.first()
    table = table.reset_index().join(synops, on=["method", "preset"])
    table = table.sort_values(f"{primary}_mean", ascending=False, kind="stable")
    table["rank"] = board_ranks(table, primary)
    # a parameter budget far from the board's median is flagged: sizes are not matched
    table["budget_ratio"] = table.params / table.params.median()
    table["seeds"] = table[f"{primary}_n"].astype(int)
    table["few_seeds"] = table.seeds < MIN_SEEDS
    return table.reset_index(drop=True)
