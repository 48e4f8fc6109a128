"""recon: convex parameter reconstruction (methods.md section 2; Udupi, Yang, Zhai 2026).

1. Witnesses: the hidden weights of the parallel LIF network, i.i.d. N(0, 1) from the seed
   (variants: `normalized` unit-norm rows, `orthogonal`).
2. Dictionary: the network's last-layer features on the training split, one row per sample
   (sequence tasks, t = T) or per sample and step (token tasks).  Binary features (spike,
   membrane readouts) are stored as uint8.
3. Convex readout per head: sum_i a_i loss(D_i W, y_i) + rho ||W||_1, rho = beta_reg /
   sqrt(P_last), solved to a certified duality gap (snnbench.solvers).  Sequence tasks use one
   head (`loss`); `add` uses a sum-digit head (`sum_loss`, softmax CE) and a carry head
   (`carry_loss`, hinge), with row weights proportional to the step (`row_weights = "linear"`).
4. The beta_reg grid is solved as a path from the largest value down, each solve warm-started
   from the previous one; the harness picks the value on val.
5. Reconstruction: hidden weights = witnesses, readout = W*.  Last-layer neurons whose readout
   weights are all zero are pruned: their input weights are zeroed, so they never spike and the
   network's predictions are unchanged; the result file reports how many remain.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Iterator

import numpy as np
import torch

from snnbench.config import ResolvedConfig
from snnbench.errors import UsageError
from snnbench.methods.base import Fit, FitData, Method, network_spec
from snnbench.models.lif import LIFNetwork
from snnbench.solvers.l1_problem import NEWTON_MAX_SIZE, L1Problem
from snnbench.solvers.losses import Hinge, Loss, SoftmaxCrossEntropy, Squared
from snnbench.tasks.base import Split, TaskInfo

# A network trained for one grid point: (config, network, what the method reports of its fit).
Trained = tuple[dict, LIFNetwork, dict]

LOSSES = ("softmax_ce", "hinge", "ovr_hinge", "squared")
# Settings with a fixed set of values (`--set key=value` is checked against them).  solver: hinge
# readouts by HiGHS, our interior point, or every readout by cvxpy (the reference);
# smooth_solver: cross-entropy / squared readouts by FISTA then the barrier method (auto).
CHOICES = {
    "solver": ("highs", "ours", "cvxpy"),
    "smooth_solver": ("auto", "barrier", "fista"),
    "witnesses": ("standard", "normalized", "orthogonal"),
    "row_weights": ("uniform", "linear"),
    "loss": LOSSES,
    "sum_loss": LOSSES,
    "carry_loss": LOSSES,
}


def make_loss(name: str, labels: torch.Tensor, classes: int) -> tuple[Loss, int]:
    """The loss object and how many readout columns it solves for."""
    if name == "softmax_ce":
        return SoftmaxCrossEntropy(labels, classes), classes
    if name == "hinge":
        if classes != 2:
            raise ValueError(f"binary hinge needs 2 classes, the head has {classes}; use ovr_hinge")
        return Hinge((2.0 * labels - 1).to(torch.float64)[:, None]), 1
    onehot = torch.nn.functional.one_hot(labels, classes).to(torch.float64)
    if name == "ovr_hinge":
        return Hinge(2 * onehot - 1), classes
    if name == "squared":
        return Squared(onehot), classes
    raise ValueError(f"unknown loss {name!r}; choose from {LOSSES}")


def head_logits_weights(w: torch.Tensor, classes: int) -> torch.Tensor:
    """Readout rows (classes, P) for a head: a binary hinge's one column w gives logits [0, z]."""
    if w.shape[1] == classes:
        return w.T
    return torch.cat([torch.zeros(1, w.shape[0], dtype=w.dtype), w.T])


def init_witnesses(net: LIFNetwork, variant: str, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    net.init_hidden(generator)  # N(0, 1)
    with torch.no_grad():
        for w in net.hidden:
            if variant == "normalized":
                w /= w.norm(dim=-1, keepdim=True)
            elif variant == "orthogonal":
                for k in range(w.shape[0]):
                    torch.nn.init.orthogonal_(w[k], generator=generator)
            elif variant != "standard":
                raise ValueError(
                    f"unknown witness variant {variant!r}: standard, normalized or orthogonal"
                )


def row_weights(task: TaskInfo, split: Split, scheme: str) -> torch.Tensor:
    """a_i, summing to 1: uniform, or proportional to the step t (1-based) on token tasks."""
    n = len(split)
    if task.kind == "sequence" or scheme == "uniform":
        rows = n * (split.steps if task.kind == "token" else 1)
        return torch.full((rows,), 1.0 / rows, dtype=torch.float64)
    if scheme != "linear":
        raise ValueError(f"row_weights must be uniform or linear, not {scheme!r}")
    t = torch.arange(1, split.steps + 1, dtype=torch.float64).repeat(n)
    return t / t.sum()


def readout_rows(split: Split, size: int | None, seed: int) -> Split:
    """The training samples the readout is solved on: all of them, or `size` drawn by the seed.

    Why: the barrier's Newton step costs n P^2 C^2 / 2 (forming H), so on full MNIST (55000
    sequences, P * C = 10240) one step costs minutes; the recon paper solved its MNIST readout
    on 6000 training images (tasks.md), and the smnist preset does the same.
    """
    if size is None or size >= len(split):
        return split
    index = np.sort(np.random.default_rng(seed).permutation(len(split))[:size])
    return split.subset(index)


def dictionary(net: LIFNetwork, split: Split) -> torch.Tensor:
    """Features as rows (n or n*T, P_last); uint8 when binary (the compact storage)."""
    feats = net.features(split.inputs())
    feats = feats.reshape(-1, feats.shape[-1])
    return feats.to(torch.uint8) if net.spec.features != "analog" else feats


def distinct_columns(d: torch.Tensor) -> torch.Tensor:
    """Index of the first occurrence of every distinct column of d, in increasing order.

    Identical columns are interchangeable in the L1 problem: weights split across copies cost
    the same penalty and give the same fit as their sum on one copy, so solving on one copy per
    column has the same optimal value and the same certificate, and is cheaper.
    """
    _, inverse = torch.unique(d, dim=1, return_inverse=True)
    first = torch.full((int(inverse.max()) + 1,), d.shape[1], dtype=torch.long)
    first.scatter_reduce_(0, inverse, torch.arange(d.shape[1]), reduce="amin")
    return first.sort().values


def head_targets(task: TaskInfo, split: Split) -> list[tuple[str, int, torch.Tensor]]:
    """(head name, classes, labels per dictionary row) for each head of the task."""
    y = split.targets()
    if task.kind == "sequence":
        return [(task.heads[0][0], task.heads[0][1], y)]
    return [(name, classes, y[..., i].reshape(-1)) for i, (name, classes) in enumerate(task.heads)]


def with_readout(net: LIFNetwork, weight: torch.Tensor) -> LIFNetwork:
    """A copy of the witness network with readout weight (n_out, P_last) and no bias."""
    model = LIFNetwork(net.spec)
    model.load_state_dict(net.state_dict())
    with torch.no_grad():
        model.readout.weight.copy_(weight.to(model.readout.weight.dtype))
        model.readout.bias.zero_()
    return model


def prune(net: LIFNetwork) -> int:
    """Zero the input weights of last-layer neurons with no readout weight; return how many
    remain."""
    alive = net.readout.weight.abs().sum(0) > 0  # (p_last,), branches concatenated
    last = net.hidden[-1]
    with torch.no_grad():
        last.mul_(alive.view(last.shape[0], last.shape[1], 1).to(last.dtype))
    return int(alive.sum())


class Recon(Method):
    name = "recon"
    description = (
        "Convex parameter reconstruction: random LIF witnesses and a certified L1 readout."
    )
    paper = (
        "Udupi, Yang, Zhai, Globally Optimal Training of Spiking Neural Networks via "
        "Parameter Reconstruction, arXiv 2605.08022 (2026)"
    )
    version = "3"
    changelog = {
        "1": "first version",
        "2": "hinge readouts solved by HiGHS by default (certified to ~1e-10; version 1's "
        "interior point left relative gaps up to 2e-4 on first-last-xor, docs/reproduction.md)",
        "3": "smooth readouts that FISTA does not certify in 200 iterations continue with the "
        "barrier method where P * C <= 4096 (add's sum digit; the smnist presets allow 10240, "
        "barrier_max_size): certified to 1e-6 where version 2's FISTA stopped at gaps of "
        "0.2-0.3 after 2000 iterations (solvers/barrier.py)",
    }
    config_resource = "snnbench.methods:configs/recon.toml"
    path_key = "beta_reg"  # the grid key solved as a path on one dictionary

    def check_config(self, config: ResolvedConfig) -> None:
        for candidate in config.candidates():
            size = candidate.get("readout_train_size", 1)
            if not isinstance(size, int) or size < 1:  # --set keeps the preset's type: int
                raise UsageError(f"{self.name}: readout_train_size must be >= 1, not {size!r}")
        for key, valid in CHOICES.items():
            for value in config.grid.get(key, [config.settings.get(key, valid[0])]):
                if value not in valid:
                    raise UsageError(
                        f"{self.name}: {key} must be one of {', '.join(valid)}, not {value!r}"
                    )

    def witnesses(self, data: FitData, config: dict, seed: int) -> LIFNetwork:
        net = LIFNetwork(network_spec(data.task, config))
        init_witnesses(net, config.get("witnesses", "standard"), seed)
        return net

    def fit(self, data: FitData, config: dict, seed: int) -> Fit:
        return next(iter(self.fit_grid(data, [config], seed)))[1]

    def fit_grid(self, data: FitData, configs: list[dict], seed: int) -> Iterator[tuple[dict, Fit]]:
        for config, network, info in self.networks(data, configs, seed):
            yield config, Fit.of(network, info)

    def networks(self, data: FitData, configs: list[dict], seed: int) -> Iterator[Trained]:
        """One dictionary per setting of everything but path_key; path_key solved as a path."""
        groups: dict[str, list[dict]] = {}
        for config in configs:
            key = repr(sorted((k, v) for k, v in config.items() if k != self.path_key))
            groups.setdefault(key, []).append(config)
        for group in groups.values():
            net = self.witnesses(data, group[0], seed)
            train = readout_rows(data.train, group[0].get("readout_train_size"), seed)
            yield from self.solve_path(replace(data, train=train), net, group)

    def solve_path(self, data: FitData, net: LIFNetwork, configs: list[dict]) -> Iterator[Trained]:
        task, config = data.task, configs[0]
        d = dictionary(net, data.train)
        columns = distinct_columns(d) if config.get("dedupe", False) else torch.arange(d.shape[1])
        d = d[:, columns]
        a = row_weights(task, data.train, config.get("row_weights", "uniform"))
        problems = []
        for name, classes, labels in head_targets(task, data.train):
            loss_name = config["loss"] if task.kind == "sequence" else config[f"{name}_loss"]
            loss, _ = make_loss(loss_name, labels, classes)
            problems.append((name, classes, loss_name, L1Problem(d, loss, a)))
        warm: dict[str, torch.Tensor] = {}
        ordered = sorted(configs, key=lambda c: -c["beta_reg"])  # path from the sparsest end
        for i, cfg in enumerate(ordered):
            rho = cfg["beta_reg"] / math.sqrt(net.spec.p_last)
            rows, reports = [], []
            for name, classes, loss_name, problem in problems:
                if cfg["solver"] == "cvxpy":  # the reference: same problem, cvxpy
                    # imported here: cvxpy takes about 1 s to import, in every job process
                    from snnbench.solvers.reference import solve_cvxpy

                    result = solve_cvxpy(problem, rho)
                else:
                    lp = "highs" if cfg["solver"] == "highs" else "interior-point"
                    # configs without smooth_solver come from versions <= 2 (FISTA alone):
                    # `verify` re-runs them so
                    result = problem.solve(
                        rho,
                        w0=warm.get(name),
                        tol=cfg["tol"],
                        max_iter=cfg["max_iter"],
                        lp=lp,
                        smooth=cfg.get("smooth_solver", "fista"),
                        newton_max_iter=cfg.get("newton_max_iter", 200),
                        # set on the smnist tracks only (P * C = 10240); elsewhere absent, as
                        # in the configs of earlier versions
                        barrier_max_size=cfg.get("barrier_max_size", NEWTON_MAX_SIZE),
                    )
                warm[name] = result.w
                w = result.w.new_zeros(net.spec.p_last, result.w.shape[1])
                w[columns] = result.w  # copies of a column keep weight 0 and are pruned
                rows.append(head_logits_weights(w, classes))
                reports.append({"head": name, "loss": loss_name, **result.report()})
            model = with_readout(net, torch.cat(rows))
            kept = prune(model)
            info = {
                "solves": reports,
                "neurons_kept": kept,
                "p_last": net.spec.p_last,
                "dictionary_rows": d.shape[0],
                "distinct_columns": len(columns),
            }
            data.progress(i + 1, len(ordered))
            yield cfg, model, info
