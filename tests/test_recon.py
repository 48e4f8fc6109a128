"""recon and its hybrids: reconstruction, pruning, the beta_reg path, and where
witnesses come from."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from snnbench.config import read_config, resolve
from snnbench.errors import UsageError
from snnbench.methods import get_method
from snnbench.methods import sg as sg_module
from snnbench.methods.recon import dictionary, distinct_columns, prune, readout_rows
from snnbench.tasks import get_task
from snnbench.testing import fit_data, network

QUICK = {
    "depth": 3,
    "p_rec": 32,
    "p_last": 64,
    "features": "membrane",
    "loss": "hinge",
    "tol": 1e-6,
    "max_iter": 20000,
    "witnesses": "standard",
    "solver": "highs",
    "smooth_solver": "auto",
    "newton_max_iter": 200,
}


@pytest.fixture(scope="module")
def xor():
    task = get_task("first-last-xor-t6")
    return task, task.load()


def trained(method: str, data, config: dict, task):
    """The network the harness would score, and the method's fit info."""
    fit = get_method(method).fit(data, config, 0)
    return network(fit, task), fit.info


def test_pruning_keeps_predictions(xor):
    task, splits = xor
    net, info = trained("recon", fit_data(task, splits), {**QUICK, "beta_reg": 0.1}, task)
    assert info["neurons_kept"] < 64, "beta_reg = 0.1 should leave some neurons unused"
    unpruned = get_method("recon").witnesses(fit_data(task, splits), QUICK, 0)
    with torch.no_grad():
        unpruned.readout.load_state_dict(net.readout.state_dict())
    x = splits["test"].inputs()
    assert torch.equal(net.run(x).logits, unpruned.run(x).logits)
    assert net.run(x).spikes.sum() < unpruned.run(x).spikes.sum()  # pruned neurons no longer fire
    assert prune(net) == info["neurons_kept"]


def test_path_yields_every_beta_reg_with_certificates(xor):
    task, splits = xor
    configs = [{**QUICK, "beta_reg": b} for b in (0.001, 0.1, 0.01)]
    fitted = list(get_method("recon").fit_grid(fit_data(task, splits), configs, 0))
    assert [c["beta_reg"] for c, _ in fitted] == [0.1, 0.01, 0.001]  # largest first, warm-started
    kept = [f.info["neurons_kept"] for _, f in fitted]
    assert kept == sorted(kept), "smaller beta_reg, denser readout"
    for _, fit in fitted:
        for solve in fit.info["solves"]:
            assert solve["gap"] >= 0 and solve["primal"] >= solve["dual"]
    assert task.score(network(fitted[-1][1], task), splits["val"]).metrics["accuracy"] > 0.6


def test_distinct_columns_are_first_occurrences():
    d = torch.tensor([[1, 0, 1, 0, 1], [0, 1, 0, 1, 1]], dtype=torch.uint8)
    assert distinct_columns(d).tolist() == [0, 1, 4]


def test_deduplicated_dictionary_gives_the_same_optimum(xor):
    task, splits = xor
    data = fit_data(task, splits)
    method = get_method("recon")
    settings = {**method.config("quick", task.info).settings, "depth": 2}
    full = next(method.fit_grid(data, [{**settings, "beta_reg": 0.01}], 0))[1].info
    reduced = next(method.fit_grid(data, [{**settings, "beta_reg": 0.01, "dedupe": True}], 0))[1]
    assert reduced.info["distinct_columns"] < full["distinct_columns"] == settings["p_last"]

    def primal(info):
        return info["solves"][0]["primal"]

    gaps = full["solves"][0]["gap"] + reduced.info["solves"][0]["gap"]
    assert abs(primal(full) - primal(reduced.info)) <= gaps + 1e-9
    assert reduced.info["neurons_kept"] <= reduced.info["distinct_columns"]


def test_dictionary_is_binary_and_compact(xor):
    task, splits = xor
    net = get_method("recon").witnesses(fit_data(task, splits), QUICK, 0)
    d = dictionary(net, splits["train"])
    assert d.dtype == torch.uint8 and d.shape == (2000, 64) and set(d.unique().tolist()) <= {0, 1}


@pytest.mark.slow
def test_recon_end_to_end_on_addition(quick_run):
    run = quick_run("recon", "add-b2")
    assert [s["head"] for s in run["fit_info"]["solves"]] == ["sum", "carry"]
    assert run["metrics"]["test"]["token_accuracy"] > 0.3


def test_sg_recon_really_uses_the_sg_weights(xor, monkeypatch):
    """Changing what sg returns changes sg-recon's dictionary and its readout."""
    task, splits = xor
    data = fit_data(task, splits)
    config = {
        **QUICK,
        "beta_reg": 0.01,
        "init_gain": 1.0,
        "batch_size": 256,
        "early_stop": 5,
        "sg_lr": 0.01,
        "sg_epochs": 3,
    }
    method = get_method("sg-recon")
    witnesses = method.witnesses(data, config, 0)
    sg_net = get_method("sg").train(data, {**config, "lr": 0.01, "epochs": 3}, 0)
    assert all(torch.equal(a, b) for a, b in zip(witnesses.hidden, sg_net.hidden, strict=True))
    first = network(method.fit(data, config, 0), task)

    original = sg_module.SurrogateGradient.train

    def perturbed(self, data, config, seed):
        net = original(self, data, config, seed)
        with torch.no_grad():
            net.hidden[0].mul_(-1)
        return net

    monkeypatch.setattr(sg_module.SurrogateGradient, "train", perturbed)
    second = network(method.fit(data, config, 0), task)
    assert not torch.equal(dictionary(first, splits["train"]), dictionary(second, splits["train"]))
    assert not torch.equal(first.readout.weight, second.readout.weight)


def val_accuracy(net, split) -> float:
    return float((net(split.inputs()).argmax(-1) == split.targets()).double().mean())


def test_recon_sg_starts_from_the_reconstruction_and_never_ends_worse_on_val(xor):
    task, splits = xor
    data = fit_data(task, splits)
    # a strong penalty leaves recon below 100 % on val, so fine-tuning has room to improve
    config = {
        **QUICK,
        "beta_reg": 0.3,
        "batch_size": 256,
        "early_stop": 5,
        "sg_lr": 0.001,
        "sg_epochs": 3,
    }
    tuned, tuned_info = trained("recon-sg", data, config, task)
    recon, recon_info = trained("recon", data, config, task)

    def certificate(info):
        return [(s["primal"], s["dual"]) for s in info["solves"]]

    assert tuned_info["fine_tuned"] and certificate(tuned_info) == certificate(recon_info)
    before, after = val_accuracy(recon, splits["val"]), val_accuracy(tuned, splits["val"])
    assert before < 1.0 and after > before, (before, after)
    moved = max(
        float((a - b).detach().abs().max())
        for a, b in zip(tuned.hidden, recon.hidden, strict=False)
    )
    assert 0 < moved < 0.5, "fine-tuning moves the witnesses a little, it does not start over"


def test_recon_sg_keeps_the_reconstruction_when_fine_tuning_does_not_beat_it(xor, monkeypatch):
    task, splits = xor
    data = fit_data(task, splits)
    config = {
        **QUICK,
        "beta_reg": 0.01,
        "batch_size": 256,
        "early_stop": 5,
        "sg_lr": 0.001,
        "sg_epochs": 2,
    }
    recon, _ = trained("recon", data, config, task)
    monkeypatch.setattr(
        sg_module, "task_loss", lambda logits, y, task: -logits.std()
    )  # training that hurts
    tuned, _ = trained("recon-sg", data, config, task)
    assert val_accuracy(tuned, splits["val"]) == val_accuracy(recon, splits["val"])
    assert all(torch.equal(a, b) for a, b in zip(tuned.hidden, recon.hidden, strict=False))


def test_the_default_solver_certifies_every_hinge_readout_of_the_path(xor):
    task, splits = xor
    for method in ("recon", "sg-recon", "recon-sg"):
        default = resolve(
            read_config(get_method(method).config_resource), "paper", task.family
        ).settings["solver"]
        assert default == "highs", f"{method} no longer defaults to the certifying hinge solver"
    data = fit_data(task, splits)
    configs = [{**QUICK, "beta_reg": b} for b in (0.1, 0.01, 0.001)]
    for _, fit in get_method("recon").fit_grid(data, configs, 0):
        solve = fit.info["solves"][0]
        assert solve["solver"] == "highs" and solve["converged"] and solve["rel_gap"] <= 1e-6, solve


def test_readout_train_size_solves_the_readout_on_a_seeded_subset(xor):
    task, splits = xor
    data = fit_data(task, splits)
    config = {**QUICK, "beta_reg": 0.01, "readout_train_size": 300}
    fit = get_method("recon").fit(data, config, 0)
    assert fit.info["dictionary_rows"] == 300
    # the same readout as recon given only those 300 sequences as its training split
    subset = readout_rows(data.train, 300, 0)
    assert len(subset) == 300
    alone = get_method("recon").fit(replace(data, train=subset), {**QUICK, "beta_reg": 0.01}, 0)
    assert torch.equal(fit.weights["readout.weight"], alone.weights["readout.weight"])
    # another seed draws other sequences; a size at or above the split is the whole split
    assert not np.array_equal(readout_rows(data.train, 300, 1).x, subset.x)
    assert readout_rows(data.train, len(data.train), 0) is data.train


def test_sg_recon_trains_its_witnesses_on_every_training_sequence(xor, monkeypatch):
    task, splits = xor
    data = fit_data(task, splits)
    seen = []

    def record(self, data, config, seed):
        seen.append(len(data.train))
        return get_method("recon").witnesses(data, QUICK, seed)

    monkeypatch.setattr(sg_module.SurrogateGradient, "train", record)
    config = {**QUICK, "beta_reg": 0.01, "readout_train_size": 300, "sg_lr": 0.01, "sg_epochs": 1}
    fit = get_method("sg-recon").fit(data, config, 0)
    assert seen == [len(splits["train"])] and fit.info["dictionary_rows"] == 300


def test_the_full_smnist_preset_solves_its_readout_on_6000_sequences():
    """The recon paper's MNIST setting (tasks.md); the mini track and other families use all."""
    for name in ("recon", "sg-recon", "recon-sg"):
        method = get_method(name)
        full = method.config("paper", get_task("smnist-t4").info)
        assert full.settings["readout_train_size"] == 6000
        for other in ("smnist-mini-t4", "first-last-xor-t8", "add-b3"):
            assert "readout_train_size" not in method.config("paper", get_task(other).info).settings
        with pytest.raises(UsageError, match="readout_train_size"):
            method.check_config(full.with_overrides({"readout_train_size": 0}))
