"""The harness: trains a method per seed, selects on val, and computes every reported metric.

Methods never see the test or OOD splits and never compute a reported number.  For `add-*`
the harness runs the model autoregressively: the carry it predicts at step t is written into
the carry channel at step t + 1 (teacher-forced scores are kept as diagnostics).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch

from snnbench.errors import MethodOutputError
from snnbench.methods.base import FitData, Method
from snnbench.metrics import accuracy, token_metrics
from snnbench.models.gru import GRUNetwork
from snnbench.models.lif import LIFNetwork

# What a method may return: the canonical LIF network, or the GRU of the ANN reference line.
Model = LIFNetwork | GRUNetwork
from snnbench.tasks.base import Split, Task


@dataclass
class SplitScore:
    metrics: dict[str, float]
    spikes_per_sample: float


def check_model(model: object, task: Task, method: str) -> Model:
    """Reject anything the harness cannot run, naming the method and what was expected."""
    if not isinstance(model, (LIFNetwork, GRUNetwork)):
        raise MethodOutputError(f"method {method!r} returned {type(model).__name__}; expected an snnbench LIFNetwork (or, for the ANN reference, a GRUNetwork)")
    spec = model.spec
    if (spec.n_in, spec.n_out) != (task.n_in, task.n_out):
        raise MethodOutputError(
            f"method {method!r} returned a network with n_in={spec.n_in}, n_out={spec.n_out}; "
            f"task {task.id} needs n_in={task.n_in}, n_out={task.n_out} (heads {task.heads})"
        )
    if spec.every_step != (task.kind == "token"):
        raise MethodOutputError(f"method {method!r}: every_step must be {task.kind == 'token'} on {task.id}")
    return model


def head_predictions(logits: torch.Tensor, task: Task) -> list[torch.Tensor]:
    """Argmax of each head's slice of the logits."""
    preds, start = [], 0
    for _, classes in task.heads:
        preds.append(logits[..., start : start + classes].argmax(-1))
        start += classes
    return preds


def check_logits(logits: torch.Tensor, expected: tuple[int, ...], method: str) -> torch.Tensor:
    if tuple(logits.shape) != expected:
        raise MethodOutputError(f"method {method!r}: model produced logits of shape {tuple(logits.shape)}, expected {expected}")
    if not torch.isfinite(logits).all():
        raise MethodOutputError(f"method {method!r}: model produced non-finite logits")
    return logits


def score_sequence(model: Model, split: Split, task: Task, method: str) -> SplitScore:
    out = model.run(split.inputs())
    logits = check_logits(out.logits, (len(split), task.n_out), method)
    return SplitScore({"accuracy": accuracy(logits.argmax(-1), split.targets())}, out.spikes.double().mean().item())


def autoregressive_predictions(model: Model, split: Split, task: Task, method: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(pred_sum, pred_carry, spikes) with the model's own carry fed back at every step."""
    base = task.params["base"]
    a, b = torch.from_numpy(split.extras["a"]), torch.from_numpy(split.extras["b"])
    n, digits = a.shape
    scale = torch.tensor(float(base - 1), dtype=torch.float32)
    state = model.init_state(n)
    carry = torch.zeros(n, dtype=torch.int64)
    spikes = torch.zeros(n, dtype=torch.int64)
    sums, carries = [], []
    for t in range(digits + 1):
        digits_t = torch.stack([a[:, t], b[:, t]], 1) if t < digits else torch.zeros(n, 2, dtype=torch.int64)
        x_t = torch.cat([digits_t, carry[:, None]], 1).to(torch.float32) / scale
        state, logits, count = model.step(state, x_t)
        check_logits(logits, (n, task.n_out), method)
        pred_sum, carry = head_predictions(logits, task)
        sums.append(pred_sum)
        carries.append(carry)
        spikes += count
    return torch.stack(sums, 1), torch.stack(carries, 1), spikes


def score_token(model: Model, split: Split, task: Task, method: str) -> SplitScore:
    pred_sum, pred_carry, spikes = autoregressive_predictions(model, split, task, method)
    metrics = token_metrics(pred_sum, pred_carry, split.targets())
    teacher = model.run(split.inputs()).logits
    check_logits(teacher, (len(split), split.steps, task.n_out), method)
    tf = token_metrics(*head_predictions(teacher, task), split.targets())
    metrics["teacher_forced_token_accuracy"] = tf["token_accuracy"]
    return SplitScore(metrics, spikes.double().mean().item())


def score(model: Model, split: Split, task: Task, method: str) -> SplitScore:
    scorer = score_sequence if task.kind == "sequence" else score_token
    return scorer(model, split, task, method)


# Every primary metric is a fraction; a grid point scoring this on val cannot be beaten.
PERFECT = 1.0


def run_seed(
    method: Method,
    task: Task,
    splits: dict[str, Split],
    candidates: list[dict],
    grid_keys: list[str],
    seed: int,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> dict:
    """Train the grid points in order, pick the best on val, score the pick on every split.

    Ties keep the earlier grid point, so once one scores a perfect val the rest of the grid
    is skipped: the choice, and every reported score, are the same as with the full search.
    """
    finished, per_fit = 0, 1

    def fit_progress(done: int, total: int) -> None:  # one bar over all grid points
        nonlocal per_fit
        per_fit = total
        progress(finished * total + done, len(candidates) * total)

    data = FitData(task, splits["train"], splits["val"], fit_progress)
    start = time.perf_counter()
    selection, best = [], None
    for config, model in method.fit_grid(data, candidates, seed):
        finished += 1
        progress(finished * per_fit, len(candidates) * per_fit)  # a fit may stop early
        model = check_model(model, task, method.name)
        val = score(model, splits["val"], task, method.name).metrics[task.primary_metric]
        hyper = {k: config[k] for k in grid_keys}
        selection.append({"hyperparameters": hyper, "val_score": val})
        if best is None or val > best[0]:  # ties keep the earlier grid point
            best = (val, hyper, model)
        if val == PERFECT:  # no later grid point can be chosen over this one: skip them
            break
    if best is None:
        raise MethodOutputError(f"method {method.name!r} returned no model")
    train_seconds = time.perf_counter() - start
    _, chosen, model = best

    start = time.perf_counter()
    metrics, spikes = {}, {}
    for name in ("train", *task.eval_splits):
        result = score(model, splits[name], task, method.name)
        metrics[name] = result.metrics
        spikes[name] = result.spikes_per_sample
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
        "model": {"num_parameters": model.num_parameters, "num_neurons": neurons, "spec": model.spec.to_dict(),
                  "spiking": model.spiking},
        # what the method reports about its own fit (solver certificates, pruning); not a score
        "fit_info": getattr(model, "fit_info", None),
        "train_seconds": train_seconds,
        "eval_seconds": eval_seconds,
    }
