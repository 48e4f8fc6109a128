"""Everything `snnbench validate` checks, beyond the schema; one Problem per finding.

A result file is untrusted input, so every claim that can be checked without re-running is:
seeds, the derived summary, that the chosen hyperparameters are the first best val point of
the run's own selection and that their val score is the run's val metric, that the task
header matches the task registry (family, primary metric, splits, metrics) and the current
data (fingerprints), that `spiking` matches the kind of network, and that no run is a copy
of another under a different seed.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import PurePosixPath, PureWindowsPath

from snnbench.errors import DataError


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    message: str
    level: str = "error"  # or "warning": could not be checked here

    def __str__(self) -> str:
        return f"{self.file}: {self.field or '(root)'}: {self.message}"


@cache
def current_fingerprints(task_id: str, data_dir: str | None) -> dict[str, str]:
    from snnbench.tasks import TASKS

    return {name: split.fingerprint() for name, split in TASKS[task_id].load(data_dir).items()}


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def escapes_folder(name: str) -> bool:
    """Would this name, used as a path, leave its folder ('..' parts, absolute or drive paths)?

    Method names are free text in a submitted file (the site escapes them and derives page
    names from them), but a name that is a path out of a folder is refused outright.
    """
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    return (
        posix.is_absolute()
        or windows.is_absolute()
        or bool(windows.drive)
        or ".." in posix.parts
        or ".." in windows.parts
    )


def header_problems(method: dict, task: dict, file: str, data_dir: str | None) -> list[Problem]:
    """The method and task headers, against the task registry and the current data."""
    from snnbench.tasks import TASKS

    out: list[Problem] = []
    if escapes_folder(method["name"]):
        out.append(
            Problem(file, "method/name", f"{method['name']!r} would escape the output folder")
        )
    if task["metrics"][0] != task["primary_metric"]:
        out.append(
            Problem(
                file,
                "task/metrics",
                f"must list the primary metric {task['primary_metric']!r} first",
            )
        )
    if list(task["fingerprints"]) != [] and set(task["fingerprints"]) != set(task["splits"]):
        out.append(
            Problem(
                file,
                "task/fingerprints",
                f"has splits {sorted(task['fingerprints'])}, the header lists {task['splits']}",
            )
        )
    registered = TASKS.get(task["id"])
    if registered is None:
        return [*out, Problem(file, "task/id", f"unknown task {task['id']!r}")]
    if task["version"] != registered.version:
        return [
            *out,
            Problem(
                file,
                "task/version",
                f"task version {task['version']!r} is not the "
                f"current {registered.version!r}; results of other versions are not ranked",
            ),
        ]
    expected = {"family": registered.family, "primary_metric": registered.primary_metric}
    for key, value in expected.items():
        if task[key] != value:
            out.append(
                Problem(
                    file, f"task/{key}", f"is {task[key]!r}; task {registered.id} has {value!r}"
                )
            )
    if set(task["splits"]) != set(registered.splits):
        out.append(
            Problem(
                file,
                "task/splits",
                f"are {task['splits']}; task {registered.id} has {list(registered.splits)}",
            )
        )
    if set(task["metrics"]) != set(registered.metrics):
        out.append(
            Problem(
                file,
                "task/metrics",
                f"are {task['metrics']}; task {registered.id} reports {list(registered.metrics)}",
            )
        )
    try:
        now = current_fingerprints(registered.id, data_dir)
    except DataError as exc:
        found = str(exc).splitlines()[0].split(". ")[0]  # the finding, not the instructions
        message = f"not checked, data unavailable ({found}; see --data-dir)"
        return [*out, Problem(file, "task/fingerprints", message, "warning")]
    for split, value in task["fingerprints"].items():
        if now.get(split) != value:
            out.append(
                Problem(
                    file,
                    f"task/fingerprints/{split}",
                    f"{value[:16]}... does not match the "
                    f"current {task['id']} {task['version']} data "
                    f"({now.get(split, 'no such split')[:16]}...)",
                )
            )
    return out


def run_problems(run: dict, where: str, method: dict, task: dict, file: str) -> list[Problem]:
    """One run against its own headers: splits, metrics, selection, model kind."""
    out: list[Problem] = []
    splits, metrics, primary = set(task["splits"]), set(task["metrics"]), task["primary_metric"]
    if set(run["metrics"]) != splits:
        out.append(
            Problem(
                file,
                f"{where}/metrics",
                f"scores splits {sorted(run['metrics'])}, the task has {sorted(splits)}",
            )
        )
    for split, values in run["metrics"].items():
        if set(values) != metrics:
            out.append(
                Problem(
                    file,
                    f"{where}/metrics/{split}",
                    f"reports {sorted(values)}, the task's metrics are {sorted(metrics)}",
                )
            )
    grid, chosen, selection = method["grid"], run["chosen_hyperparameters"], run["selection"]
    if set(chosen) != set(grid) or any(chosen[k] not in grid[k] for k in chosen):
        out.append(
            Problem(
                file,
                f"{where}/chosen_hyperparameters",
                f"{chosen} is not a point of the grid {grid}",
            )
        )
    for i, point in enumerate(selection):
        hyper = point["hyperparameters"]
        if set(hyper) != set(grid) or any(hyper[k] not in grid[k] for k in hyper):
            out.append(
                Problem(
                    file, f"{where}/selection/{i}", f"{hyper} is not a point of the grid {grid}"
                )
            )
    best = max(point["val_score"] for point in selection)
    first_best = next(point for point in selection if point["val_score"] == best)
    if first_best["hyperparameters"] != chosen:
        out.append(
            Problem(
                file,
                f"{where}/chosen_hyperparameters",
                f"{chosen} is not the first best val "
                f"point of the selection ({first_best['hyperparameters']}, val {best})",
            )
        )
    val = run["metrics"].get("val", {}).get(primary)
    if val is not None and val != first_best["val_score"]:
        out.append(
            Problem(
                file,
                f"{where}/metrics/val/{primary}",
                f"is {val}, the chosen point's val score is {first_best['val_score']}",
            )
        )
    model = run["model"]
    if model["spiking"] != (model["kind"] == "lif") or model["spec"]["kind"] != model["kind"]:
        out.append(
            Problem(
                file,
                f"{where}/model",
                f"a {model['kind']} network (spec kind {model['spec']['kind']!r}) "
                f"marked spiking={model['spiking']}",
            )
        )
    if not model["spiking"] and (
        run["spikes"]["per_sample"] or run["spikes"]["per_neuron_per_step"]
    ):
        out.append(Problem(file, f"{where}/spikes", "a non-spiking network reports spikes"))
    return out + efficiency_problems(run, file, where, task["id"])


def efficiency_problems(run: dict, file: str, where: str, task_id: str) -> list[Problem]:
    """An efficiency entry that cannot be what the harness measured: on another split than
    the spikes, operations beyond the dense count, a dense count or membrane updates the
    network's spec and the split's length rule out, more non-zero parameters or active neurons
    than the network has, a sparsity the spike count contradicts, or activity figures for a
    non-spiking network (or none for a spiking one)."""
    entry, model = run.get("efficiency"), run["model"]
    if entry is None:
        return []
    here, out = f"{where}/efficiency", []

    def problem(message: str) -> None:
        out.append(Problem(file, here, message))

    if entry["split"] != run["spikes"]["split"]:
        problem(f"is measured on {entry['split']}, the spikes on {run['spikes']['split']}")
    if entry["parameters_nonzero"] > model["num_parameters"]:
        problem(f"{entry['parameters_nonzero']} non-zero parameters of {model['num_parameters']}")
    if (entry["neurons_active"] or 0) > model["num_neurons"]:
        problem(f"{entry['neurons_active']} active neurons of {model['num_neurons']}")
    activity = ("effective_acs", "effective_macs", "dense", "activation_sparsity")
    given = [entry[k] is not None for k in (*activity, "membrane_updates")]
    if model["spiking"] != all(given) or any(given) != all(given):
        problem("activity figures are given exactly for spiking networks, all of them")
        return out
    if not model["spiking"]:
        return out
    if entry["effective_acs"] + entry["effective_macs"] > entry["dense"]:
        problem(f"effective operations exceed the dense count {entry['dense']}")
    out += spec_bound_problems(entry, model, task_id, file, where)
    sparsity = 1 - run["spikes"]["per_neuron_per_step"]
    if not close(entry["activation_sparsity"], sparsity):
        problem(
            f"activation sparsity {entry['activation_sparsity']}, the spike count gives {sparsity}"
        )
    return out


def spec_bound_problems(
    entry: dict, model: dict, task_id: str, file: str, where: str
) -> list[Problem]:
    """What the spec fixes: that it fits the task and gives the model's neuron and parameter
    counts, the dense operations exactly, and the membrane updates between every neuron once
    (NeuroBench counts all at the first step) and every neuron at every step.  Skipped for a
    task the registry does not know (header_problems reports it)."""
    from snnbench.efficiency import dense_per_sample, layer_sizes
    from snnbench.errors import MethodOutputError
    from snnbench.models.canonical import check_fits_task, parse_spec
    from snnbench.models.lif import LIFSpec
    from snnbench.tasks import TASKS

    registered, here = TASKS.get(task_id), f"{where}/efficiency"
    if registered is None:
        return []
    if entry["split"] not in registered.splits:
        return [Problem(file, here, f"is measured on {entry['split']!r}, not a split of {task_id}")]
    try:
        lif = parse_spec(model["spec"])
        check_fits_task(lif, registered.info)
    except MethodOutputError as exc:
        return [Problem(file, here, f"the model's spec is not a network of the task: {exc}")]
    if not isinstance(lif, LIFSpec):  # a spiking flag on another kind is reported elsewhere
        return []
    steps = registered.length(entry["split"])
    weights, neurons = layer_sizes(lif)
    dense = dense_per_sample(lif, steps)
    if max(dense, neurons * steps) > sys.float_info.max:
        return [Problem(file, here, "the spec's network is too large to be the scored one")]
    parameters = weights + lif.n_out * (lif.p_last + 1)  # and the readout's weights and bias
    out = []
    if (model["num_neurons"], model["num_parameters"]) != (neurons, parameters):
        out.append(
            Problem(
                file,
                f"{where}/model",
                f"{model['num_neurons']} neurons and {model['num_parameters']} parameters; "
                f"the spec gives {neurons} and {parameters}",
            )
        )
    if not close(entry["dense"], dense):
        out.append(Problem(file, here, f"dense {entry['dense']}, the spec gives {dense}"))
    updates = entry["membrane_updates"]
    low, high = neurons, neurons * steps
    if not ((low <= updates or close(updates, low)) and (updates <= high or close(updates, high))):
        out.append(
            Problem(
                file,
                here,
                f"membrane updates {updates} per sample outside [{low}, {high}] "
                f"({neurons} neurons, {steps} steps)",
            )
        )
    return out


def runs_problems(runs: list[dict], file: str) -> list[Problem]:
    """Across runs: distinct seeds, and no run copied verbatim under another seed."""
    out: list[Problem] = []
    seeds = [r["seed"] for r in runs]
    if len(set(seeds)) != len(seeds):
        out.append(Problem(file, "runs", f"seeds {seeds} repeat"))
    bodies: dict[str, int] = {}
    for run in runs:
        body = repr(sorted((k, repr(v)) for k, v in run.items() if k != "seed"))
        if body in bodies:
            out.append(
                Problem(
                    file,
                    "runs",
                    f"the run of seed {run['seed']} is a copy of the run of seed {bodies[body]}",
                )
            )
        bodies.setdefault(body, run["seed"])
    return out


def first_difference(got: object, want: object, path: str) -> tuple[str, str] | None:
    """(path, message) of the first place where got differs from want (numbers: close)."""
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            keys = sorted(got) if isinstance(got, dict) else got
            return path, f"has {keys}, the runs give {sorted(want)}"
        for key in want:
            found = first_difference(got[key], want[key], f"{path}/{key}")
            if found:
                return found
        return None
    if isinstance(got, bool) or not isinstance(got, (int, float)) or not close(got, want):
        return path, f"is {got}, the runs give {want}"
    return None


def result_problems(doc: dict, file: str, data_dir: str | None) -> list[Problem]:
    """Every semantic problem of a (schema-valid, current-version) summary document."""
    from snnbench.results.model import summarize

    runs = doc["runs"]
    out = header_problems(doc["method"], doc["task"], file, data_dir) + runs_problems(runs, file)
    if sorted(doc["seeds"]) != sorted(r["seed"] for r in runs):
        out.append(
            Problem(
                file,
                "seeds",
                f"{doc['seeds']} do not match the seeds of the runs {[r['seed'] for r in runs]}",
            )
        )
    for i, run in enumerate(runs):
        out += run_problems(run, f"runs/{i}", doc["method"], doc["task"], file)
    difference = first_difference(doc["summary"], summarize(runs), "summary")
    if difference:
        out.append(Problem(file, *difference))
    return out


def record_problems(doc: dict, file: str, data_dir: str | None) -> list[Problem]:
    """Every semantic problem of a (schema-valid) seed record."""
    return header_problems(doc["method"], doc["task"], file, data_dir) + run_problems(
        doc["run"], "run", doc["method"], doc["task"], file
    )
