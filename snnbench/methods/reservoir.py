"""reservoir: recon's random witnesses with a ridge-regression readout (methods.md section 6).

The same witness networks and dictionaries as recon (snnbench/methods/configs/witnesses.toml),
but the readout of each head is ridge regression on one-hot targets,
    W = (D^T A D + ridge I)^-1 D^T A Y,   A = diag(a_i), sum a_i = 1,
with no L1 penalty, no pruning and no certificate.  Beside recon on the leaderboard it shows
what the sparse convex readout adds to the same random features.  The ridge grid is solved
from one eigendecomposition of the Gram matrix per dictionary; the harness picks on val.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from snnbench.methods.base import FitData
from snnbench.methods.recon import (
    Recon,
    Trained,
    dictionary,
    head_targets,
    row_weights,
    with_readout,
)
from snnbench.models.lif import LIFNetwork


class Reservoir(Recon):
    name = "reservoir"
    version = "3"
    changelog = {
        "1": "first version",
        "3": "its own version number: it used to inherit recon's (1, then 3), although recon's "
        "version 2 and 3 changes (HiGHS hinge, barrier) are in readout solvers reservoir never "
        "calls; the version-1 files were re-run as version 3 with the same numbers",
    }
    description = (
        "recon's random LIF witnesses with a ridge-regression readout (no L1, no certificate)."
    )
    paper = "Jaeger 2001; Maass, Natschlaeger, Markram 2002 (reservoir computing)"
    config_resource = "snnbench.methods:configs/reservoir.toml"
    path_key = "ridge"

    def solve_path(self, data: FitData, net: LIFNetwork, configs: list[dict]) -> Iterator[Trained]:
        task, config = data.task, configs[0]
        d = dictionary(net, data.train).to(torch.float64)
        a = row_weights(task, data.train, config.get("row_weights", "uniform"))
        evals, evecs = torch.linalg.eigh(d.T @ (a[:, None] * d))
        evals = evals.clamp_min(0)  # the Gram matrix is PSD; round-off can make tiny negatives
        # each head's right-hand side D^T A Y in the eigenbasis
        heads = [
            evecs.T @ (d.T @ (a[:, None] * torch.nn.functional.one_hot(y, k).to(torch.float64)))
            for _, k, y in head_targets(task, data.train)
        ]
        for i, cfg in enumerate(configs):
            ridge = cfg[self.path_key]
            rows = [(evecs @ (rhs / (evals + ridge)[:, None])).T for rhs in heads]
            model = with_readout(net, torch.cat(rows))
            info = {
                "solver": "ridge via eigendecomposition of D^T A D",
                "p_last": net.spec.p_last,
                "dictionary_rows": d.shape[0],
                "gram_rank": int((evals > 1e-12 * evals.max()).sum()),
            }
            data.progress(i + 1, len(configs))
            yield cfg, model, info
