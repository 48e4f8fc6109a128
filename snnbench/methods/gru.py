"""gru: a non-spiking GRU trained with backprop, the ANN reference (methods.md section 6).

Trained with the surrogate-gradient recipe shared by every sg method (Adam, plateau schedule,
best val state, learning rate chosen on val), so the only difference from `sg` is the network.
Hidden sizes per family give about the parameter count of sg's paper-preset network (a test
checks it stays within 20 %).
"""

from __future__ import annotations

import torch

from snnbench.methods.base import Fit, FitData, Method
from snnbench.methods.sg import train_surrogate_gradient
from snnbench.models.gru import GRUNetwork, GRUSpec


class GRU(Method):
    name = "gru"
    description = (
        "Non-spiking GRU trained with backprop: the ANN reference line, not an SNN method."
    )
    paper = (
        "Cho et al., Learning Phrase Representations using RNN Encoder-Decoder, "
        "EMNLP 2014 (the GRU)"
    )
    config_resource = "snnbench.methods:configs/gru.toml"

    def fit(self, data: FitData, config: dict, seed: int) -> Fit:
        torch.manual_seed(seed)
        task = data.task
        net = GRUNetwork(
            GRUSpec(task.n_in, task.n_out, config["hidden"], every_step=task.kind == "token")
        )
        return Fit.of(train_surrogate_gradient(net, data, config, seed))
