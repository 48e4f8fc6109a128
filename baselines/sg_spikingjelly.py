"""sg-spikingjelly: the canonical LIF network built from spikingjelly, trained with sg.

Convention (decision, methods.md section 1): `neuron.LIFNode(tau = 1 / (1 - beta),
decay_input=False, v_reset=None)` is exactly u = beta * r + I with soft reset by subtraction
(spikingjelly computes v - v / tau, equal to beta * v up to rounding); `detach_reset=True`
matches the reset without gradient of the other two simulators; multi-step mode ('m') on
the torch backend (spikingjelly 2.0 removed the `backend=` argument; on CPU it runs torch).
"""

from __future__ import annotations

import torch
from spikingjelly.activation_based import functional, layer, neuron, surrogate
from torch import nn

from snnbench.methods.sg import SurrogateGradient
from snnbench.models.lif import LIFNetwork, LIFSpec, UnrolledLIF


class SpikingjellyLIF(UnrolledLIF):
    """K branches of layer.Linear + neuron.LIFNode, multi-step over (T, n, features)."""

    def __init__(self, spec: LIFSpec):
        super().__init__()
        self.spec = spec
        fan_in = [spec.n_in, *spec.widths[:-1]]
        tau = 1.0 / (1.0 - spec.beta)
        last = len(spec.widths) - 1
        self.branches = nn.ModuleList()
        for _ in range(spec.branches):
            modules = []
            for i, (f, w) in enumerate(zip(fan_in, spec.widths, strict=False)):
                modules.append(layer.Linear(f, w, bias=False, step_mode="m"))
                modules.append(
                    neuron.LIFNode(
                        tau=tau,
                        decay_input=False,
                        v_threshold=spec.theta,
                        v_reset=None,
                        surrogate_function=surrogate.ATan(alpha=2.0),
                        detach_reset=True,
                        step_mode="m",
                        store_v_seq=i == last and spec.features != "spike",
                    )
                )
            self.branches.append(nn.Sequential(*modules))
        self.readout = nn.Linear(spec.p_last, spec.n_out)

    def linears(self, k: int) -> list[nn.Linear]:
        return [m for m in self.branches[k] if isinstance(m, nn.Linear)]

    @classmethod
    def from_network(cls, net: LIFNetwork) -> "SpikingjellyLIF":
        module = cls(net.spec).to(net.hidden[0].dtype)
        with torch.no_grad():
            for k in range(net.spec.branches):
                for lin, weights in zip(module.linears(k), net.hidden, strict=False):
                    lin.weight.copy_(weights[k])
            module.readout.load_state_dict(net.readout.state_dict())
        return module

    def to_network(self) -> LIFNetwork:
        net = LIFNetwork(self.spec).to(self.readout.weight.dtype)
        with torch.no_grad():
            for i, weights in enumerate(net.hidden):
                weights.copy_(
                    torch.stack([self.linears(k)[i].weight for k in range(self.spec.branches)])
                )
            net.readout.load_state_dict(self.readout.state_dict())
        return net

    def _unroll(self, x: torch.Tensor, record: list | None) -> torch.Tensor:
        functional.reset_net(self)
        x_seq = x.transpose(0, 1)  # (T, n, n_in)
        feats, per_layer = [], [[] for _ in self.spec.widths]
        for branch in self.branches:
            h, i = x_seq, 0
            for module in branch:
                h = module(h)
                if isinstance(module, neuron.LIFNode):
                    per_layer[i].append(h)
                    i += 1
            last = branch[-1]
            if self.spec.features == "membrane":
                h = surrogate.ATan(alpha=2.0)(last.v_seq)  # heaviside(r) on the post-reset membrane
            elif self.spec.features == "analog":
                h = last.v_seq
            feats.append(h)
        if record is not None:
            record.extend(torch.cat(spikes, -1) for spikes in per_layer)
        return torch.cat(feats, -1)


class SurrogateGradientSpikingjelly(SurrogateGradient):
    name = "sg-spikingjelly"
    description = (
        "Surrogate-gradient training of the canonical LIF network built with spikingjelly "
        "(LIFNode, ATan)."
    )
    paper = (
        "Fang et al., SpikingJelly: An open-source machine learning infrastructure platform "
        "for spike-based intelligence, Science Advances 2023"
    )
    config_resource = "snnbench.baselines:configs/sg-spikingjelly.toml"
    module_class = SpikingjellyLIF
