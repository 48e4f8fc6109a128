"""sg-snntorch: the canonical LIF network built from snntorch's `snn.Leaky`, trained with sg.

Convention (decision, methods.md section 1): snntorch's `Leaky` delays the reset by default,
and with `reset_delay=False` it still subtracts theta one step early whenever the post-reset
membrane stays above threshold (u >= 2 theta), which changes the next spike.  To run the
canonical equations exactly we use `Leaky(reset_mechanism="none")` for the leak, the
threshold and the ATan surrogate, and subtract theta * spike (detached) after each step, as
snntorch's own subtractive reset does.  snntorch fires on u - theta > 0 (strict) where the
canonical network fires on >= 0; the two differ only on exact ties.
"""

from __future__ import annotations

import snntorch as snn
import torch
from snntorch import surrogate
from torch import nn

from snnbench.methods.sg import SurrogateGradient
from snnbench.models.lif import LIFNetwork, LIFSpec, UnrolledLIF


class SnntorchLIF(UnrolledLIF):
    """K branches of nn.Linear + snn.Leaky layers, stepped one time step at a time."""

    def __init__(self, spec: LIFSpec):
        super().__init__()
        self.spec = spec
        fan_in = [spec.n_in, *spec.widths[:-1]]
        self.branches = nn.ModuleList(
            nn.ModuleList(
                nn.Linear(f, w, bias=False) for f, w in zip(fan_in, spec.widths, strict=False)
            )
            for _ in range(spec.branches)
        )
        # One Leaky per layer of each branch, as a snntorch user writes it; it also lets
        # NeuroBench's hooks stack each neuron layer's membranes (one Leaky shared across
        # widths breaks its MembraneUpdates; tests/test_efficiency.py runs it on this twin).
        self.neurons = nn.ModuleList(
            nn.ModuleList(
                snn.Leaky(
                    beta=spec.beta,
                    threshold=spec.theta,
                    spike_grad=surrogate.atan(alpha=2.0),
                    reset_mechanism="none",
                )
                for _ in spec.widths
            )
            for _ in range(spec.branches)
        )
        self.readout = nn.Linear(spec.p_last, spec.n_out)

    @classmethod
    def from_network(cls, net: LIFNetwork) -> "SnntorchLIF":
        module = cls(net.spec).to(net.hidden[0].dtype)
        with torch.no_grad():
            for layer, weights in enumerate(net.hidden):
                for k, branch in enumerate(module.branches):
                    branch[layer].weight.copy_(weights[k])
            module.readout.load_state_dict(net.readout.state_dict())
        return module

    def to_network(self) -> LIFNetwork:
        net = LIFNetwork(self.spec).to(self.readout.weight.dtype)
        with torch.no_grad():
            for layer, weights in enumerate(net.hidden):
                weights.copy_(torch.stack([branch[layer].weight for branch in self.branches]))
            net.readout.load_state_dict(self.readout.state_dict())
        return net

    def _unroll(self, x: torch.Tensor, record: list | None) -> torch.Tensor:
        spec, (n, steps, _) = self.spec, x.shape
        mems = [
            [torch.zeros(n, lin.out_features, dtype=x.dtype) for lin in branch]
            for branch in self.branches
        ]
        feats, layer_spikes = [], [[] for _ in spec.widths]
        for t in range(steps):
            step_feats = []
            for k, branch in enumerate(self.branches):
                h = x[:, t]
                for layer, lin in enumerate(branch):
                    spk, mem = self.neurons[k][layer](lin(h), mems[k][layer])
                    spk = spk.to(mem.dtype)  # snntorch's ATan returns float32
                    mem = mem - spec.theta * spk.detach()  # soft reset by subtraction, no delay
                    mems[k][layer] = mem
                    h = spk
                    layer_spikes[layer].append(spk)
                if spec.features == "membrane":
                    # 1[r >= 0] = 1 - 1[-r > 0]: snntorch's strict heaviside would read a silent
                    # neuron (r = 0) as 0; the surrogate is symmetric, so the gradient is unchanged.
                    h = 1 - self.neurons[k][-1].spike_grad(-mem).to(mem.dtype)
                elif spec.features == "analog":
                    h = mem
                step_feats.append(h)
            feats.append(torch.cat(step_feats, -1))
        if record is not None:  # per layer: (T, n, K * width), branches concatenated
            k = spec.branches
            record.extend(
                torch.stack([torch.cat(s[t * k : (t + 1) * k], -1) for t in range(steps)])
                for s in layer_spikes
            )
        return torch.stack(feats)


class SurrogateGradientSnntorch(SurrogateGradient):
    name = "sg-snntorch"
    description = (
        "Surrogate-gradient training of the canonical LIF network built with snntorch "
        "(snn.Leaky, ATan)."
    )
    paper = (
        "Eshraghian et al., Training spiking neural networks using lessons from deep learning, "
        "Proc. IEEE 2023"
    )
    config_resource = "snnbench.baselines:configs/sg-snntorch.toml"
    module_class = SnntorchLIF
