"""admm: exact membrane update, monotone block updates, better than chance, valid results."""

from __future__ import annotations

import pytest
import torch

from snnbench.methods import admm as admm_module
from snnbench.methods import get_method
from snnbench.methods.admm import ADMMRun, membrane_step
from snnbench.methods.base import FitData
from snnbench.tasks import get_task


@pytest.mark.parametrize("seed", range(5))
def test_membrane_update_equals_brute_force(seed):
    g = torch.Generator().manual_seed(seed)
    n, theta = 2000, 1.0
    best = torch.rand(n, generator=g, dtype=torch.float64) * 4 - 1.5
    a = torch.rand(n, generator=g, dtype=torch.float64)
    rho, penalty = 0.2 + torch.rand(1, generator=g).item(), 3 * torch.rand(1, generator=g).item()
    curvature = 1 + 0.99**2
    z = membrane_step(best, curvature, a, rho, penalty, theta)
    grid = torch.cat(
        [
            torch.linspace(-3, 4, 70001, dtype=torch.float64),
            torch.tensor([theta, theta - 1e-6, theta - 1e-12]),
        ]
    )

    def cost(v, b, ai):
        return (
            0.5 * rho * curvature * (v - b) ** 2 + 0.5 * penalty * (ai - (v >= theta).double()) ** 2
        )

    brute = cost(grid[None, :], best[:, None], a[:, None]).min(1).values
    ours = cost(z, best, a)
    assert (ours <= brute + 1e-9).all(), float((ours - brute).max())


@pytest.fixture(scope="module")
def small_run() -> list:
    runs = []
    for task_id in ("first-last-xor-t6", "add-b2"):
        task = get_task(task_id)
        splits = task.load()
        data = FitData(task, splits["train"], splits["val"])
        config = {**get_method("admm").config("quick", task).settings}
        run = ADMMRun(data, config, 0)
        run.x, run.y = run.x[:200], run.y[:200]  # a small problem, same code
        run.z, run.a = [z[:200] for z in run.z], [a[:200] for a in run.a]
        run.z_out, run.lam = run.z_out[:200], run.lam[:200] + 0.1  # a nonzero multiplier
        runs.append((task_id, run))
    return runs


def test_every_block_update_does_not_increase_the_lagrangian(small_run):
    for task_id, run in small_run:
        for it in range(4):
            for block in (
                run.update_weights,
                run.update_spikes,
                run.update_membranes,
                lambda run=run: run.update_readout_and_multipliers(-1),
            ):  # -1: before any multiplier step
                before = run.residuals()["lagrangian"]
                block()
                after = run.residuals()["lagrangian"]
                assert after <= before + 1e-6 * abs(before), (task_id, it, block, before, after)
            run.update_readout_and_multipliers(10**6)  # the multiplier step (may increase it)


def test_admm_beats_chance_on_xor_t6_and_result_validates(quick_run):
    run = quick_run("admm", "first-last-xor-t6")
    assert run["metrics"]["test"]["accuracy"] >= 0.75
    trace = run["fit_info"]["trace"]
    assert {"lagrangian", "readout_residual", "dynamics_residual", "spike_residual"} <= set(
        trace[0]
    )
    assert any("val_accuracy" in entry for entry in trace)


def test_streaming_in_chunks_gives_the_iterates_of_one_chunk(monkeypatch):
    task = get_task("add-b2")
    splits = task.load()
    data = FitData(task, splits["train"], splits["val"])
    config = {**get_method("admm").config("quick", task).settings}
    states = []
    for chunk in (100_000, 97):  # one chunk, and many uneven ones
        monkeypatch.setattr(admm_module, "CHUNK", chunk)
        run = ADMMRun(data, config, 0)
        for it in range(3):
            run.update_weights()
            run.update_spikes()
            run.update_membranes()
            run.update_readout_and_multipliers(it + config["warmup"])  # multipliers move too
        states.append([*run.w, run.w_out, *run.z, *(a.float() for a in run.a), run.lam])
    for one, many in zip(*states, strict=False):
        assert torch.allclose(one, many, rtol=1e-4, atol=1e-5), float((one - many).abs().max())
