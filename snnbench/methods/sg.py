"""sg: surrogate-gradient training of the canonical LIF network (methods.md sections 3-4).

One recipe for every simulator: ATan surrogate, Adam, mini-batches, ReduceLROnPlateau(0.5,
patience 10) on val accuracy, keep the best val state.  `sg` trains our own torch simulator;
`sg-snntorch` and `sg-spikingjelly` (in baselines/) subclass this and only swap the module
that is trained, so that any difference between them comes from the library.

The trained weights are always handed back as a canonical `LIFNetwork`, which the harness
runs to score every method the same way.
"""

from __future__ import annotations

import copy
import json
import time
from typing import ClassVar

import torch
from torch import nn

from snnbench.methods.base import BestOnVal, Fit, FitData, Method, network_spec
from snnbench.models.lif import LIFNetwork
from snnbench.tasks.base import Split, TaskInfo

# A long fit saves its loop at most this often (seconds) and when it ends: a resumed fit
# loses at most this much work, and a short fit writes one state.
SAVE_EVERY = 60.0


def task_loss(logits: torch.Tensor, y: torch.Tensor, task: TaskInfo) -> torch.Tensor:
    """Cross-entropy on the last step (sequence tasks) or per head on every step (token)."""
    if task.kind == "sequence":
        return nn.functional.cross_entropy(logits, y)
    loss, start = logits.new_zeros(()), 0
    for i, (_, classes) in enumerate(task.heads):
        head = logits[..., start : start + classes]
        loss = loss + nn.functional.cross_entropy(head.reshape(-1, classes), y[..., i].reshape(-1))
        start += classes
    return loss


@torch.no_grad()
def selection_accuracy(logits: torch.Tensor, y: torch.Tensor, task: TaskInfo) -> float:
    """The training loop's own val signal (early stopping only; never reported).

    For token tasks this is teacher-forced: every head right at a position.
    """
    if task.kind == "sequence":
        return (logits.argmax(-1) == y).double().mean().item()
    right, start = torch.ones(y.shape[:2], dtype=torch.bool), 0
    for i, (_, classes) in enumerate(task.heads):
        right &= logits[..., start : start + classes].argmax(-1) == y[..., i]
        start += classes
    return right.double().mean().item()


def predict(module: nn.Module, split: Split, batch_size: int) -> torch.Tensor:
    module.eval()
    with torch.no_grad():
        return torch.cat([module(xb) for xb in split.inputs().split(batch_size)])


def train_surrogate_gradient(
    module: nn.Module, data: FitData, config: dict, seed: int, keep_initial: bool = False
) -> nn.Module:
    """The shared recipe; returns `module` loaded with its best val state.

    keep_initial: the starting state competes too (fine-tuning a trained network must never
    return one that is worse on val than where it started); from a random start it does not.
    """
    task, train = data.task, data.train
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(module.parameters(), lr=config["lr"])
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="max", factor=0.5, patience=10
    )
    x, y = train.inputs(), train.targets()
    epochs, batch_size = config["epochs"], config["batch_size"]
    kept = BestOnVal(config.get("early_stop", epochs), copy.deepcopy(module.state_dict()))
    name = f"surrogate-gradient {json.dumps(config, sort_keys=True)} {keep_initial}"
    parts = {"module": module, "optimizer": optimizer, "scheduler": scheduler}
    epoch, saved_at = resume(data.checkpoints.load(name), parts, generator, kept), time.monotonic()
    if keep_initial and epoch == 0:
        kept.best = selection_accuracy(predict(module, data.val, 4096), data.val.targets(), task)
    data.progress(epoch, epochs)
    while epoch < epochs and not kept.done:
        module.train()
        for idx in torch.randperm(len(train), generator=generator).split(batch_size):
            optimizer.zero_grad()
            task_loss(module(x[idx]), y[idx], task).backward()
            optimizer.step()
        score = selection_accuracy(predict(module, data.val, 4096), data.val.targets(), task)
        scheduler.step(score)
        kept.offer(score, lambda: copy.deepcopy(module.state_dict()))
        epoch += 1
        data.progress(epoch, epochs)
        if kept.done or epoch == epochs or time.monotonic() - saved_at > SAVE_EVERY:
            state = {k: v.state_dict() for k, v in parts.items()}
            data.checkpoints.save(name, {**state, **loop_state(epoch, generator, kept)})
            saved_at = time.monotonic()
    module.load_state_dict(kept.state)
    return module


def loop_state(epoch: int, generator: torch.Generator, kept: BestOnVal) -> dict:
    """What the training loop holds besides its module, optimizer and schedule."""
    return {
        "epoch": epoch,
        "generator": generator.get_state(),
        "kept": {"best": kept.best, "stale": kept.stale, "state": kept.state},
    }


def resume(saved: dict | None, parts: dict, generator: torch.Generator, kept: BestOnVal) -> int:
    """Restore a saved loop exactly (the next epoch draws the batches it would have); the
    epoch to continue from, 0 without a saved state."""
    if saved is None:
        return 0
    for key, part in parts.items():
        part.load_state_dict(saved[key])
    generator.set_state(saved["generator"])
    kept.best, kept.stale, kept.state = (saved["kept"][k] for k in ("best", "stale", "state"))
    return int(saved["epoch"])


class SurrogateGradient(Method):
    name = "sg"
    description = "Surrogate-gradient (ATan) training of the canonical LIF network, plain torch."
    paper = "Neftci, Mostafa, Zenke, IEEE Signal Processing Magazine 2019 (surrogate gradients)"
    config_resource = "snnbench.methods:configs/sg.toml"
    version = "2"
    changelog = {
        "1": "first version",
        "2": "layers fed by spikes sum their input currents and weight gradients from the "
        "spikes' events, in a fixed order (models/spike_product.py), where version 1 took a "
        "BLAS product: the same function with other float rounding, so training drifts apart; "
        "those products 1.2 to 4 times faster at the paper nets' spike densities",
    }

    def init_network(self, data: FitData, config: dict, seed: int) -> LIFNetwork:
        torch.manual_seed(seed)
        net = LIFNetwork(network_spec(data.task, config))
        generator = torch.Generator().manual_seed(seed)
        net.init_hidden(generator, gain=config["init_gain"])
        nn.init.normal_(net.readout.weight, std=1 / net.spec.p_last**0.5, generator=generator)
        return net

    # The module that is trained: None trains our LIFNetwork itself; the library baselines set
    # a twin class with `from_network(net)` and `to_network()` that moves the weights exactly.
    module_class: ClassVar[type | None] = None

    def to_module(self, net: LIFNetwork) -> nn.Module:
        return net if self.module_class is None else self.module_class.from_network(net)

    def train(self, data: FitData, config: dict, seed: int) -> LIFNetwork:
        """The trained canonical network (sg-recon keeps its hidden weights as witnesses)."""
        module = train_surrogate_gradient(
            self.to_module(self.init_network(data, config, seed)), data, config, seed
        )
        return module if self.module_class is None else module.to_network()

    def fit(self, data: FitData, config: dict, seed: int) -> Fit:
        return Fit.of(self.train(data, config, seed))
