"""A non-spiking GRU with the harness's model interface: the ANN reference line on each task.

It is scored by the same harness as every SNN (same splits, same autoregressive carry on
`add`), so the leaderboard can show how far the spiking methods are from a conventional
recurrent network of similar size.  It emits no spikes; result files mark it `spiking: false`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from snnbench.models.lif import RunOutput


@dataclass(frozen=True)
class GRUSpec:
    n_in: int
    n_out: int
    hidden: int
    every_step: bool = False

    @property
    def num_neurons(self) -> int:
        return self.hidden

    def to_dict(self) -> dict:
        return {"kind": "gru", **asdict(self)}


class GRUNetwork(nn.Module):
    """One GRU layer and a linear readout of its state (last step, or every step on token tasks)."""

    spiking = False

    def __init__(self, spec: GRUSpec):
        super().__init__()
        self.spec = spec
        self.gru = nn.GRU(spec.n_in, spec.hidden, batch_first=True)
        self.readout = nn.Linear(spec.hidden, spec.n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.gru(x)
        return self.readout(out if self.spec.every_step else out[:, -1])

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @torch.no_grad()
    def run(self, x: torch.Tensor, batch_size: int = 1024) -> RunOutput:
        logits = torch.cat([self(xb) for xb in x.split(batch_size)])
        return RunOutput(logits, torch.zeros(x.shape[0], dtype=torch.int64))

    def init_state(self, n: int) -> list[torch.Tensor]:
        return [torch.zeros(1, n, self.spec.hidden)]

    @torch.no_grad()
    def step(
        self, state: list[torch.Tensor], x_t: torch.Tensor
    ) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
        out, h = self.gru(x_t[:, None].to(torch.float32), state[0])
        return [h], self.readout(out[:, 0]), torch.zeros(x_t.shape[0], dtype=torch.int64)
