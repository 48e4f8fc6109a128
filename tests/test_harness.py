"""The harness: autoregressive carry feeding, selection on val, and rejection of bad models."""

from __future__ import annotations

import pytest
import torch

from snnbench.errors import MethodOutputError
from snnbench.harness import autoregressive_predictions, run_seed, score
from snnbench.methods.base import FitData, Method, network_spec
from snnbench.models.lif import LIFNetwork
from snnbench.tasks import get_task

QUICK = {"depth": 2, "p_rec": 8, "p_last": 8}


class RecordingNetwork(LIFNetwork):
    """Predicts carry = 1 at odd steps and records every input it is stepped with."""

    def step(self, state, x_t):
        self.seen.append(x_t.clone())
        t = len(self.seen) - 1
        logits = torch.zeros(x_t.shape[0], self.spec.n_out)
        logits[:, self.spec.n_out - 2 + (t % 2)] = 1.0  # carry head: class t % 2
        return state, logits, torch.zeros(x_t.shape[0], dtype=torch.int64)


def test_autoregressive_evaluation_feeds_back_the_predicted_carry():
    task = get_task("add-b3")
    split = task.load()["ood-2x"]
    net = RecordingNetwork(network_spec(task, QUICK))
    net.seen = []
    _, pred_carry, _ = autoregressive_predictions(net, split, task, "test")
    assert len(net.seen) == split.steps == 11
    a, b = split.extras["a"], split.extras["b"]
    for t, x_t in enumerate(net.seen):
        expected_carry = 0.0 if t == 0 else float((t - 1) % 2)
        assert torch.all(x_t[:, 2] == expected_carry / 2)  # the model's own carry, / (base - 1)
        if t < 10:
            assert torch.allclose(x_t[:, 0], torch.from_numpy(a[:, t]).float() / 2)
            assert torch.allclose(x_t[:, 1], torch.from_numpy(b[:, t]).float() / 2)
        else:
            assert not x_t[:, :2].any()
    assert pred_carry[:, 3].eq(1).all()


class FixedMethod(Method):
    """Returns networks chosen by the test; records what it was given."""

    name = "fixed"
    config_resource = "snnbench.methods:configs/sg.toml"

    def __init__(self, make):
        self.make, self.given = make, []

    def fit(self, data, config, seed):
        self.given.append(data)
        return self.make(data.task, config)


def test_wrong_shape_is_a_clear_error():
    task = get_task("first-last-xor-t6")
    wrong = lambda t, c: LIFNetwork(network_spec(get_task("add-b3"), QUICK))  # noqa: E731
    with pytest.raises(MethodOutputError, match="n_in=3, n_out=5.*needs n_in=2, n_out=2"):
        run_seed(FixedMethod(wrong), task, task.load(), [dict(QUICK)], [], 0)
    with pytest.raises(MethodOutputError, match="expected an snnbench LIFNetwork"):
        run_seed(FixedMethod(lambda t, c: torch.nn.Linear(2, 2)), task, task.load(), [dict(QUICK)], [], 0)


def test_selection_uses_val_and_the_method_never_sees_test():
    """Two grid points: the one that is better on val wins, whatever it scores on test."""
    task = get_task("first-last-xor-t6")
    splits = task.load()

    def make(t, config):
        net = LIFNetwork(network_spec(t, QUICK))
        with torch.no_grad():
            net.readout.bias[config["which"]] = 1.0  # constant prediction: class `which`
        return net

    method = FixedMethod(make)
    run = run_seed(method, task, splits, [{**QUICK, "which": 0}, {**QUICK, "which": 1}], ["which"], 0)
    for data in method.given:
        assert not hasattr(data, "test")
        assert data.train is splits["train"] and data.val is splits["val"]
    assert [s["val_score"] for s in run["selection"]] == [0.5, 0.5]  # balanced: a tie
    assert run["chosen_hyperparameters"] == {"which": 0}  # ties keep the first grid point
    assert run["metrics"]["test"]["accuracy"] == 0.5
    assert set(run["metrics"]) == {"train", "val", "test"}


def test_a_perfect_val_score_ends_the_grid_search(monkeypatch):
    """Ties keep the earlier point, so after a perfect val score later points are not trained."""
    import snnbench.harness as harness

    task = get_task("first-last-xor-t6")
    grid = [{**QUICK, "which": 0}, {**QUICK, "which": 1}]
    full = FixedMethod(lambda t, c: LIFNetwork(network_spec(t, QUICK)))
    run_seed(full, task, task.load(), grid, ["which"], 0)
    assert len(full.given) == 2
    monkeypatch.setattr(harness, "PERFECT", 0.5)  # a constant predictor scores 0.5 on balanced val
    short = FixedMethod(lambda t, c: LIFNetwork(network_spec(t, QUICK)))
    run = run_seed(short, task, task.load(), grid, ["which"], 0)
    assert len(short.given) == 1 and run["chosen_hyperparameters"] == {"which": 0}
    assert len(run["selection"]) == 1


def test_scores_come_from_the_harness_forward_pass():
    """A perfect readout built by hand scores 1.0: the harness runs the network itself."""
    task = get_task("first-last-xor-t6")
    split = task.load()["test"]
    net = LIFNetwork(network_spec(task, {"depth": 2, "p_rec": 2, "p_last": 2, "branches": 1, "beta": 0.0}))
    # neuron 0 fires on bit 1 at the current step; with beta = 0 features are the last bit only
    with torch.no_grad():
        net.hidden[0][0] = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
        net.readout.weight[:] = torch.tensor([[0.0, 1.0], [1.0, 0.0]])  # predict the last bit
    result = score(net, split, task, "test")
    last_bit = split.x[:, -1].argmax(-1)
    assert result.metrics["accuracy"] == pytest.approx(float(((last_bit == split.y)).mean()))
    assert result.spikes_per_sample == pytest.approx(float(split.x.sum(axis=(1, 2)).mean()))
