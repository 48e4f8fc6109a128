"""gru, the ANN reference: size comparable to sg's networks, step API = forward,
marked non-spiking."""

from __future__ import annotations

import pytest
import torch

from snnbench.methods import get_method
from snnbench.methods.base import network_spec
from snnbench.models.gru import GRUNetwork, GRUSpec
from snnbench.models.lif import LIFNetwork
from snnbench.tasks import get_task


@pytest.mark.parametrize("task_id", ["first-last-xor-t8", "add-b3", "smnist-mini-t4"])
def test_paper_gru_has_about_the_parameters_of_the_paper_sg_network(task_id):
    task = get_task(task_id)
    sg = LIFNetwork(
        network_spec(task, get_method("sg").config("paper", task).settings)
    ).num_parameters
    hidden = get_method("gru").config("paper", task).settings["hidden"]
    gru = GRUNetwork(GRUSpec(task.n_in, task.n_out, hidden, task.kind == "token")).num_parameters
    assert 0.8 < gru / sg < 1.2, (gru, sg)


def test_stepping_gives_the_forward_pass_logits():
    torch.manual_seed(0)
    net = GRUNetwork(GRUSpec(3, 5, 16, every_step=True))
    x = torch.rand(7, 6, 3)
    state, logits = net.init_state(7), []
    for t in range(6):
        state, out, spikes = net.step(state, x[:, t])
        logits.append(out)
        assert not spikes.any()
    assert torch.allclose(torch.stack(logits, 1), net.run(x).logits, atol=1e-6)


def test_gru_result_is_valid_and_marked_non_spiking(quick_run):
    run = quick_run("gru", "add-b2")
    assert run["model"]["spiking"] is False and run["model"]["spec"]["kind"] == "gru"
    assert run["metrics"]["test"]["token_accuracy"] > 0.5
