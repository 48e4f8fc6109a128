"""The harness: trains a method per seed, selects on val, and computes every reported metric.

Methods get a data-free task description and read-only copies of train and val; the harness
keeps its own splits, which no method ever holds.  What a method returns is plain data (a
`Fit`): the harness rebuilds a canonical network from it and scores only that network, by the
task's own protocol (`Task.score`), so no code of the method runs at scoring time.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

from snnbench.checkpoints import Checkpoints
from snnbench.efficiency import ReplayMismatch, measure
from snnbench.errors import MethodOutputError
from snnbench.methods.base import Fit, FitData, Method
from snnbench.models.canonical import build_network
from snnbench.tasks.base import Split, Task
from snnbench.tasks.protocol import Model, SplitScore

# Every primary metric is a fraction; a grid point scoring this on val cannot be beaten.
PERFECT = 1.0


def checked_fit(fit: object, task: Task, method: str) -> tuple[Model, dict | None]:
    """The canonical network a method's Fit describes, and its info as plain JSON data."""
    if type(fit) is not Fit:
        raise MethodOutputError(
            f"method {method!r} returned {type(fit).__name__}; "
            "expected a snnbench Fit (spec, weights, info)"
        )
    try:
        network = build_network(fit.spec, fit.weights, task.info)
        info = None if fit.info is None else json.loads(json.dumps(fit.info, allow_nan=False))
    except MethodOutputError as exc:
        raise MethodOutputError(f"method {method!r}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise MethodOutputError(
            f"method {method!r}: its fit info is not plain finite JSON data ({exc})"
        ) from None
    if info is not None and type(info) is not dict:
        raise MethodOutputError(f"method {method!r}: its fit info must be a JSON object")
    return network, info


def score(task: Task, model: Model, split: Split, method: str) -> SplitScore:
    """The task's score of the model on one split; a bad model is the method's error."""
    try:
        return task.score(model, split)
    except MethodOutputError as exc:
        raise MethodOutputError(f"method {method!r} on {task.id}/{split.name}: {exc}") from None


def measured_efficiency(model: Model, scored: SplitScore) -> dict | None:
    """The test split's efficiency entry, replayed by the scorer's own path; None (not
    measured, said on stderr) if the replay does not fire the scored spikes, rather than
    figures for activity that did not happen."""
    try:
        return measure(model, scored.inputs, "test", scored.replay, scored.spikes_per_sample)
    except ReplayMismatch as exc:
        print(f"efficiency not recorded: {exc}", file=sys.stderr)
        return None


def run_seed(
    method: Method,
    method_name: str,
    task: Task,
    splits: dict[str, Split],
    candidates: list[dict],
    grid_keys: list[str],
    seed: int,
    progress: Callable[[int, int], None] = lambda done, total: None,
    keep_network: Callable[[Model], dict] | None = None,
    checkpoints: Checkpoints | None = None,
) -> dict:
    """Train the grid points in order, pick the best on val, score the pick on every split.

    Ties keep the earlier grid point, so once one scores a perfect val the rest of the grid
    is skipped: the choice, and every reported score, are the same as with the full search.
    The recorded hyperparameters are the harness's own grid points, never the method's copy.
    keep_network, if given, receives the scored network; what it returns (evaluate: the saved
    file's sha256 and size) is recorded as the run's `network`.  checkpoints: where the
    method's fits save their state (evaluate: the seed's resume folder).  train_seconds are
    timed here, plus the seconds an interrupted earlier process banked in the states resumed
    from: the method holds the Checkpoints object, so its clock is not the one reported.
    """
    started = time.perf_counter()
    checkpoints = checkpoints or Checkpoints()
    finished, per_fit = 0, 1

    def fit_progress(done: int, total: int) -> None:  # one bar over all grid points
        nonlocal per_fit
        per_fit = total
        progress(finished * total + done, len(candidates) * total)

    data = FitData(
        task.info,
        splits["train"].read_only_copy(),
        splits["val"].read_only_copy(),
        fit_progress,
        checkpoints,
    )
    given = [dict(c) for c in candidates]  # the method may edit its copies; these stay as they were
    selection, best, seen = [], None, set()
    for config, fit in method.fit_grid(data, given, seed):
        index = next((i for i, c in enumerate(candidates) if c == config and i not in seen), None)
        if index is None:
            raise MethodOutputError(
                f"method {method_name!r} returned a fit for a config that is not a grid point left"
            )
        seen.add(index)
        finished += 1
        progress(finished * per_fit, len(candidates) * per_fit)  # a fit may stop early
        model, info = checked_fit(fit, task, method_name)
        val = score(task, model, splits["val"], method_name).metrics[task.primary_metric]
        hyper = {k: candidates[index][k] for k in grid_keys}
        selection.append({"hyperparameters": hyper, "val_score": val})
        if best is None or val > best[0]:  # ties keep the earlier grid point
            best = (val, hyper, model, info)
        if val == PERFECT:  # no later grid point can be chosen over this one: skip them
            break
    if best is None:
        raise MethodOutputError(f"method {method_name!r} returned no model")
    train_seconds = checkpoints.earlier_seconds() + time.perf_counter() - started
    _, chosen, model, info = best

    start = time.perf_counter()
    metrics, spikes, efficiency = {}, {}, None
    for name in ("train", *task.eval_splits):
        result = score(task, model, splits[name], method_name)
        metrics[name] = result.metrics
        spikes[name] = result.spikes_per_sample
        if name == "test":
            efficiency = measured_efficiency(model, result)
    eval_seconds = time.perf_counter() - start
    steps = splits["test"].steps
    neurons = model.spec.num_neurons
    return {
        "seed": seed,
        "chosen_hyperparameters": chosen,
        "selection": selection,
        "metrics": metrics,
        "spikes": {
            "per_sample": spikes["test"],
            "per_neuron_per_step": spikes["test"] / (neurons * steps),
            "split": "test",
        },
        "model": {
            "kind": model.spec.to_dict()["kind"],
            "num_parameters": model.num_parameters,
            "num_neurons": neurons,
            "spec": model.spec.to_dict(),
            "spiking": model.spiking,
        },
        # what the method reports about its own fit (solver certificates, pruning); not a score
        "fit_info": info,
        "efficiency": efficiency,
        "train_seconds": train_seconds,
        "eval_seconds": eval_seconds,
    } | ({"network": keep_network(model)} if keep_network else {})
