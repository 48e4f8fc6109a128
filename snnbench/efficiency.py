"""Efficiency of a scored network, measured by the harness, with NeuroBench's definitions.

NeuroBench 2.3.0 (`neurobench.metrics`) is the field's reference for SNN efficiency; its
definitions are restated here, one class per metric as NeuroBench has them, and computed
from the harness's own replay of the network (`probe`), never from anything a method says.
tests/test_efficiency.py checks every number against NeuroBench itself, run on the same
network built from snntorch's `snn.Leaky` (baselines/sg_snntorch.py).

Per sample, over every step of the split the network was scored on:
* synaptic operations: for every connection (each branch's weight layers and the readout)
  and every call of it (one per step; the readout once at t = T, or once over all steps),
  the non-zero inputs times their non-zero outgoing weights, bias excluded.  A call whose
  inputs are all in {-1, 0, 1} counts as accumulates (`effective_acs`), any other as
  multiply-accumulates (`effective_macs`): spikes always, an analog first layer or an analog
  readout not.  NeuroBench decides this per call of a batch; the harness decides it over the
  whole split at each step, so no number depends on a batch size.  `dense`: the same with
  every input and weight counted.
* `activation_sparsity`: zero activations over all activations of the LIF layers (every
  neuron, step and sample); NeuroBench's ActivationSparsity.
* `membrane_updates`: NeuroBench's MembraneUpdates: every neuron at the first step, then at
  each step the neurons whose membrane (pre-reset) differs from the previous step's.
* static, of the weights: `parameters_nonzero`, `neurons_active` (LIF neurons with a
  non-zero outgoing weight: the others cannot change any output and could be pruned), and
  `connection_sparsity` (NeuroBench's ConnectionSparsity, zero weights over all weights of
  the connection layers; NeuroBench rounds it to 4 decimals, we do not).

The GRU of the ANN reference line has only the static figures: NeuroBench 2.3.0 does not
count the operations of an `nn.GRU` layer ("not yet supported"), and neither do we.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch

from snnbench.models.gru import GRUNetwork
from snnbench.models.lif import LIFNetwork, LIFSpec

DEFINITIONS = "neurobench-2.3.0"
Replay = Literal["run", "step"]  # the path a task's scorer drove the network by


def _binary(x: torch.Tensor) -> torch.Tensor:
    """Whether every value is -1, 0 or 1 (NeuroBench's test for a spiking input), per the
    leading dimension."""
    ok = (x == 0) | (x == 1) | (x == -1)
    return ok.reshape(x.shape[0], -1).all(dim=1)


@dataclass
class Activity:
    """What a LIF network did on a split, as tallies summed over samples: enough for every
    metric, in memory of the order of the neurons and steps (never the spike trains)."""

    samples: int = 0
    input_nonzero: torch.Tensor | None = None  # (T, n_in): samples with input i != 0 at step t
    input_binary: torch.Tensor | None = None  # (T,): every input of step t in {-1, 0, 1}
    spikes: list[torch.Tensor] = field(default_factory=list)  # per layer (K, width) per neuron
    neuron_steps: int = 0  # activations of the LIF layers: neurons x steps x samples
    membrane_updates: int = 0
    feature_nonzero: torch.Tensor | None = None  # (p_last,) over the read steps and samples
    features_binary: bool = True

    def tally_step(
        self, layer: int, u: torch.Tensor, s: torch.Tensor, before: torch.Tensor | None
    ) -> None:
        """One step of one layer: pre-reset membranes u, spikes s, last step's u (None at
        the first step, where NeuroBench counts every neuron as updated)."""
        self.spikes[layer] += s.sum(dim=1)
        self.neuron_steps += s.numel()
        self.membrane_updates += u.numel() if before is None else int((u != before).sum())


class TallyingScan:
    """lif_scan_'s arithmetic in torch, step by step, with the tallies: `u.add_(r, alpha=beta)`
    is one fused multiply-add, as the kernel's (scan.py; tests/test_lif.py holds the two bit
    for bit), so the replay of `run` fires exactly where `run` fired.  Called once per layer,
    in order, for each batch."""

    def __init__(self, act: Activity, depth: int):
        self.act, self.depth, self.layer = act, depth, 0

    def __call__(self, currents, beta, theta, output, count) -> None:
        act, layer = self.act, self.layer
        self.layer = (self.layer + 1) % self.depth
        r, before = torch.zeros_like(currents[:, 0]), None
        for t in range(currents.shape[1]):
            u = currents[:, t].clone()
            u.add_(r, alpha=beta)
            s = u >= theta
            r = u - theta * s
            act.tally_step(layer, u, s, before)
            before = u
            if count is not None:
                count += s.sum(dim=(0, 2))
            if output == "spike":
                currents[:, t] = s
            elif output == "membrane":
                currents[:, t] = r >= 0
            else:
                currents[:, t] = r


def tally_inputs(act: Activity, inputs: torch.Tensor) -> None:
    """The first layer's inputs: non-zero count per step and input, and whether a step's
    inputs over the whole split are all in {-1, 0, 1}."""
    x = inputs.to(torch.float32)  # as the network sees them (a uint8 255 is not -1)
    act.input_nonzero = (x != 0).sum(dim=0)
    act.input_binary = _binary(x.transpose(0, 1))


def tally_features(act: Activity, feats: torch.Tensor) -> None:
    """Read-out features, (n, K * w) or (n, T, K * w)."""
    flat = feats.reshape(-1, feats.shape[-1])
    act.feature_nonzero += (flat != 0).sum(dim=0)
    act.features_binary &= bool(_binary(flat.reshape(1, -1))[0])


@torch.no_grad()
def probe(network: LIFNetwork, inputs: torch.Tensor, replay: Replay = "step") -> Activity:
    """Replay `inputs` (n, T, n_in), the inputs the network saw while it was scored, by the
    path that scored it, and tally its activity.

    `step`: the step API (`LIFNetwork.advance`, what `step` runs), all samples at once as the
    autoregressive scorer steps them.  `run`: the fast path's batches and products
    (`LIFNetwork._layers`) with the scan replaced by `TallyingScan`.  The two paths round
    `beta * r + current` differently (scan.py), so replaying one by the other could move a
    spike; replayed by its own path the spike count is the scorer's (the harness checks)."""
    n, steps, _ = inputs.shape
    act = Activity(samples=n)
    tally_inputs(act, inputs)
    act.spikes = [torch.zeros(w.shape[:2], dtype=torch.int64) for w in network.hidden]
    act.feature_nonzero = torch.zeros(network.spec.p_last, dtype=torch.int64)
    if replay == "run":
        weights, _ = network._fast_weights("gemm")
        scan = TallyingScan(act, len(network.hidden))
        for _, xb in network._batches(inputs, None, False):
            tally_features(act, network._flatten(network._layers(xb, None, weights, False, scan)))
        return act
    state, before = network.init_state(n), None
    for t in range(steps):
        state, currents, spikes, feats = network.advance(state, inputs[:, t])
        for layer, (u, s) in enumerate(zip(currents, spikes, strict=True)):
            act.tally_step(layer, u, s, None if before is None else before[layer])
        before = currents
        if network.spec.every_step or t == steps - 1:
            tally_features(act, feats)
    return act


def fan_out(weights: torch.Tensor) -> torch.Tensor:
    """Non-zero outgoing weights of each input: weights (..., out, in) -> (..., in)."""
    return (weights != 0).sum(dim=-2)


class Metric:
    """One efficiency figure: a name and how to compute it from a network and its activity."""

    name: str

    def compute(self, network: LIFNetwork, act: Activity) -> float | int:
        raise NotImplementedError


def layer_sizes(spec: LIFSpec) -> tuple[int, int]:
    """(weights of all hidden layers, LIF neurons), from the spec's numbers alone: a result
    file's spec is checked with these, so they build no per-layer list (depth is untrusted)."""
    k, inner = spec.branches, spec.depth - 2  # LIF layers of width p_rec / K before the last
    rec, last = spec.p_rec // k, spec.p_last // k
    if inner == 0:
        return k * last * spec.n_in, k * last
    weights = k * (rec * spec.n_in + (inner - 1) * rec * rec + last * rec)
    return weights, k * (inner * rec + last)


def dense_per_sample(spec: LIFSpec, steps: int) -> int:
    """NeuroBench's dense synaptic operations of one sample of `steps` steps: every weight of
    each hidden layer once per step, the readout's once per read step (1, or every step)."""
    read_steps = steps if spec.every_step else 1
    return steps * layer_sizes(spec)[0] + read_steps * spec.n_out * spec.p_last


class SynapticOperations:
    """NeuroBench's SynapticOperations: effective ACs, effective MACs and dense, per sample."""

    names = ("effective_acs", "effective_macs", "dense")

    def compute(self, network: LIFNetwork, act: Activity) -> dict[str, float]:
        ops = {"ac": 0, "mac": 0}
        first = network.hidden[0]  # (K, width, n_in): every branch reads the same inputs
        per_step = act.input_nonzero @ fan_out(first).sum(dim=0)  # (T,)
        ops["ac"] += int(per_step[act.input_binary].sum())
        ops["mac"] += int(per_step[~act.input_binary].sum())
        for spikes, w in zip(act.spikes[:-1], network.hidden[1:], strict=True):
            ops["ac"] += int((spikes * fan_out(w)).sum())  # spikes are binary: accumulates
        readout = int(act.feature_nonzero @ fan_out(network.readout.weight))
        ops["ac" if act.features_binary else "mac"] += readout
        n, steps = act.samples, act.input_nonzero.shape[0]
        return {
            "effective_acs": ops["ac"] / n,
            "effective_macs": ops["mac"] / n,
            "dense": float(dense_per_sample(network.spec, steps)),
        }


class ActivationSparsity(Metric):
    name = "activation_sparsity"

    def compute(self, network: LIFNetwork, act: Activity) -> float:
        spikes = sum(int(s.sum()) for s in act.spikes)
        return (act.neuron_steps - spikes) / act.neuron_steps


class MembraneUpdates(Metric):
    name = "membrane_updates"

    def compute(self, network: LIFNetwork, act: Activity) -> float:
        return act.membrane_updates / act.samples


def _connection_weights(network: LIFNetwork | GRUNetwork) -> list[torch.Tensor]:
    if isinstance(network, GRUNetwork):
        gru = network.gru
        return [gru.weight_ih_l0, gru.weight_hh_l0, network.readout.weight]
    return [*network.hidden, network.readout.weight]


def static_metrics(network: LIFNetwork | GRUNetwork) -> dict[str, float | int]:
    """Of the weights alone: non-zero parameters, LIF neurons with a non-zero outgoing weight,
    and NeuroBench's connection sparsity (unrounded)."""
    with torch.no_grad():
        weights = _connection_weights(network)
        zeros = sum(int((w == 0).sum()) for w in weights)
        out = {
            "parameters_nonzero": sum(int((p != 0).sum()) for p in network.parameters()),
            "connection_sparsity": zeros / sum(w.numel() for w in weights),
            "neurons_active": None,
        }
        if isinstance(network, LIFNetwork):
            k = network.spec.branches
            # a neuron's outgoing weights: the next layer of its branch, or the readout
            readout = fan_out(network.readout.weight).reshape(k, -1)
            nexts = [fan_out(w) for w in network.hidden[1:]] + [readout]
            out["neurons_active"] = sum(int((f > 0).sum()) for f in nexts)
    return out


SPIKING_METRICS: tuple[Metric, ...] = (ActivationSparsity(), MembraneUpdates())


class ReplayMismatch(RuntimeError):
    """The replay did not fire the spikes that were scored: its tallies would be wrong."""


def measure(
    network: LIFNetwork | GRUNetwork,
    inputs: torch.Tensor,
    split: str,
    replay: Replay = "step",
    spikes: float | None = None,
) -> dict:
    """The run's `efficiency` entry: every figure per sample of `split`, whose inputs (as the
    network saw them) are `inputs`, replayed by `replay`.  `spikes`, the scorer's spikes per
    sample, is checked against the replay's (ReplayMismatch)."""
    entry: dict = {"split": split, "definitions": DEFINITIONS, **static_metrics(network)}
    names = (*SynapticOperations.names, *(m.name for m in SPIKING_METRICS))
    if not isinstance(network, LIFNetwork):
        return entry | dict.fromkeys(names)
    act = probe(network, inputs, replay)
    fired = sum(int(s.sum()) for s in act.spikes)
    if spikes is not None and abs(fired - spikes * act.samples) > 0.5:
        raise ReplayMismatch(
            f"the {replay} replay fired {fired} spikes on {split}, the scorer "
            f"{spikes * act.samples:.0f}"
        )
    entry |= SynapticOperations().compute(network, act)
    entry |= {m.name: m.compute(network, act) for m in SPIKING_METRICS}
    return entry


def comparisons(recorded: dict | None, measured: dict) -> list[tuple[str, str, float, float]]:
    """(split, figure, recorded, measured) for every number a run's efficiency entry holds;
    none for a run made before it was measured (`rescore` compares these)."""
    if recorded is None:
        return []
    numbers = {k: v for k, v in recorded.items() if isinstance(v, (int, float))}
    return [(recorded["split"], k, v, measured[k]) for k, v in numbers.items()]
