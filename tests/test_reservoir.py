"""reservoir: the ridge readout is the ridge solution, on recon's own witnesses."""

from __future__ import annotations

import torch

from snnbench.methods import get_method
from snnbench.methods.recon import dictionary, row_weights
from snnbench.tasks import get_task
from snnbench.testing import fit_data, network


def test_ridge_readout_solves_the_normal_equations_on_recons_witnesses():
    task = get_task("add-b2")
    splits = task.load()
    data = fit_data(task, splits)
    method = get_method("reservoir")
    config = {**method.config("quick", task.info).settings, "ridge": 0.01}
    net = network(method.fit(data, config, 0), task)
    recon = get_method("recon").witnesses(data, config, 0)
    assert all(torch.equal(a, b) for a, b in zip(net.hidden, recon.hidden, strict=False))
    d = dictionary(net, splits["train"]).double()
    a = row_weights(task, splits["train"], "linear")
    y = splits["train"].targets()
    start = 0
    for i, (_, classes) in enumerate(task.heads):
        onehot = torch.nn.functional.one_hot(y[..., i].reshape(-1), classes).double()
        w = torch.linalg.solve(
            d.T @ (a[:, None] * d) + 0.01 * torch.eye(d.shape[1], dtype=torch.float64),
            d.T @ (a[:, None] * onehot),
        )
        got = net.readout.weight[start : start + classes].double().T
        assert torch.allclose(got, w.float().double(), rtol=1e-4, atol=1e-5)
        start += classes
    assert not net.readout.bias.any()


def test_reservoir_end_to_end_result_is_valid(quick_run):
    assert quick_run("reservoir", "first-last-xor-t6")["metrics"]["test"]["accuracy"] > 0.6
