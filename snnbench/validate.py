"""`snnbench validate`: every problem of a result file, with the file and the field.

Checks, in order: JSON syntax; the JSON Schema (types, required fields, metrics in [0, 1]);
then what a schema cannot say: seeds match runs, the summary is the summary of the runs,
chosen hyperparameters come from the grid, every run scores every split, and the
fingerprints equal those of the current version of the task.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path, PurePosixPath, PureWindowsPath

from jsonschema import Draft202012Validator

from snnbench.errors import DataError
from snnbench.results import summarize
from snnbench.tasks import TASKS


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    message: str
    level: str = "error"  # or "warning": could not be checked here

    def __str__(self) -> str:
        return f"{self.file}: {self.field or '(root)'}: {self.message}"


@cache
def schema_validator() -> Draft202012Validator:
    schema = json.loads(files("snnbench.schema").joinpath("result.schema.json").read_text())
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@cache
def current_fingerprints(task_id: str, data_dir: str | None) -> dict[str, str]:
    return {name: split.fingerprint() for name, split in TASKS[task_id].load(data_dir).items()}


def field_path(parts) -> str:
    return "/".join(str(p) for p in parts)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def escapes_folder(name: str) -> bool:
    """Would this name, used as a path, leave its folder ('..' parts, absolute or drive paths)?

    Method names are free text (the site escapes them and derives page names from them), but a
    name that is a path out of a folder is refused outright.
    """
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    return (
        posix.is_absolute()
        or windows.is_absolute()
        or bool(windows.drive)
        or ".." in posix.parts
        or ".." in windows.parts
    )


def semantic_problems(doc: dict, file: str, data_dir: str | None) -> list[Problem]:
    out: list[Problem] = []
    if escapes_folder(doc["method"]["name"]):
        out.append(
            Problem(
                file,
                "method/name",
                f"{doc['method']['name']!r} would escape the output folder; rename the method",
            )
        )
    runs, seeds = doc["runs"], doc["seeds"]
    run_seeds = [r["seed"] for r in runs]
    if sorted(run_seeds) != sorted(seeds) or len(set(run_seeds)) != len(run_seeds):
        out.append(
            Problem(file, "seeds", f"seeds {seeds} do not match the seeds of the runs {run_seeds}")
        )

    fingerprints = doc["task"]["fingerprints"]
    grid = doc["method"]["grid"]
    for i, run in enumerate(runs):
        if set(run["metrics"]) != set(fingerprints):
            out.append(
                Problem(
                    file,
                    f"runs/{i}/metrics",
                    f"scores splits {sorted(run['metrics'])}, the task has {sorted(fingerprints)}",
                )
            )
        chosen = run["chosen_hyperparameters"]
        if set(chosen) != set(grid) or any(chosen[k] not in grid[k] for k in chosen):
            out.append(
                Problem(
                    file,
                    f"runs/{i}/chosen_hyperparameters",
                    f"{chosen} is not a point of the grid {grid}",
                )
            )

    expected = summarize(runs)
    for split, metrics in expected["metrics"].items():
        for metric, stat in metrics.items():
            got = doc["summary"]["metrics"].get(split, {}).get(metric)
            if got is None or not all(close(got[k], stat[k]) for k in ("mean", "std", "n")):
                out.append(
                    Problem(
                        file, f"summary/metrics/{split}/{metric}", f"is {got}, the runs give {stat}"
                    )
                )

    task = doc["task"]
    current = TASKS.get(task["id"])
    if current is None:
        out.append(Problem(file, "task/id", f"unknown task {task['id']!r}"))
    elif task["version"] != current.version:
        out.append(
            Problem(
                file,
                "task/version",
                f"task version {task['version']!r} is not the current {current.version!r}; "
                "results of other versions are not ranked",
            )
        )
    else:
        try:
            now = current_fingerprints(current.id, data_dir)
        except DataError as exc:
            out.append(
                Problem(
                    file,
                    "task/fingerprints",
                    f"not checked, data unavailable: {exc}".splitlines()[0],
                    "warning",
                )
            )
        else:
            for split, value in fingerprints.items():
                if now.get(split) != value:
                    out.append(
                        Problem(
                            file,
                            f"task/fingerprints/{split}",
                            f"{value[:16]}... does not match the current {task['id']} "
                            f"{task['version']} data ({now.get(split, 'no such split')[:16]}...)",
                        )
                    )
    return out


def validate_file(path: str | Path, data_dir: str | None = None) -> list[Problem]:
    file = str(path)
    try:
        doc = json.loads(Path(path).read_text())
    except OSError as exc:
        return [Problem(file, "", f"cannot read: {exc.strerror}")]
    except json.JSONDecodeError as exc:
        return [Problem(file, "", f"not valid JSON: {exc}")]
    errors = sorted(
        schema_validator().iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))
    )
    if errors:
        return [Problem(file, field_path(e.absolute_path), e.message) for e in errors]
    return semantic_problems(doc, file, data_dir)
