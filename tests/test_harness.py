"""The harness: autoregressive carry feeding, selection on val, networks rebuilt from plain
data, and every hostile method output refused or made harmless."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
import torch

from snnbench.errors import MethodOutputError
from snnbench.harness import run_seed
from snnbench.methods.base import Fit, Method, network_spec
from snnbench.models.lif import LIFNetwork
from snnbench.tasks import get_task
from snnbench.tasks.addition import autoregressive_predictions
from snnbench.tasks.base import Task

QUICK = {"depth": 2, "p_rec": 8, "p_last": 8}
XOR = get_task("first-last-xor-t6")


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
    net = RecordingNetwork(network_spec(task.info, QUICK))
    net.seen = []
    _, pred_carry, _, _ = autoregressive_predictions(task, net, split)
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


def test_teacher_forced_inputs_are_the_autoregressive_encoding_with_true_carries():
    """One input encoding: stepping the true carries reproduces the split's inputs exactly."""
    task = get_task("add-b5")
    split = task.load()["val"]
    net = RecordingNetwork(network_spec(task.info, QUICK))
    net.seen = []
    autoregressive_predictions(task, net, split)
    assert torch.equal(net.seen[0], torch.from_numpy(split.x[:, 0]))  # carry 0 at t = 0
    for t in range(split.steps):
        assert torch.equal(net.seen[t][:, :2], torch.from_numpy(split.x[:, t, :2]))


def constant(info, config) -> LIFNetwork:
    """Predicts class config["which"] (default 0) for every input."""
    net = LIFNetwork(network_spec(info, QUICK))
    with torch.no_grad():
        net.readout.bias[config.get("which", 0)] = 1.0
    return net


class FixedMethod(Method):
    """Returns what `make(data, config)` gives; records what it was given."""

    name = "fixed"
    config_resource = "snnbench.methods:configs/sg.toml"

    def __init__(self, make):
        self.make, self.given = make, []

    def fit(self, data, config, seed):
        self.given.append(data)
        return self.make(data, config)


def run(make, grid=None, keys=()) -> dict:
    return run_seed(
        FixedMethod(make), "fixed", XOR, XOR.load(), grid or [dict(QUICK)], list(keys), 0
    )


def test_wrong_shape_or_type_is_a_clear_error():
    wrong = lambda d, c: Fit.of(LIFNetwork(network_spec(get_task("add-b3").info, QUICK)))  # noqa: E731
    with pytest.raises(MethodOutputError, match="n_in=3, n_out=5.*needs n_in=2, n_out=2"):
        run(wrong)
    with pytest.raises(MethodOutputError, match="expected a snnbench Fit"):
        run(lambda d, c: torch.nn.Linear(2, 2))
    with pytest.raises(MethodOutputError, match="expected a snnbench Fit"):
        run(lambda d, c: constant(d.task, c))  # a network object, not its plain data


def test_selection_uses_val_and_the_method_gets_read_only_copies_without_test():
    """Two grid points: the one better on val wins; the method holds copies, never the
    harness's splits, and a task description with no loader."""
    splits = XOR.load()
    method = FixedMethod(lambda d, c: Fit.of(constant(d.task, c)))
    grid = [{**QUICK, "which": 0}, {**QUICK, "which": 1}]
    result = run_seed(method, "fixed", XOR, splits, grid, ["which"], 0)
    for data in method.given:
        fields = {f.name for f in dataclasses.fields(data)}
        assert fields == {"task", "train", "val", "progress", "checkpoints"}
        assert not hasattr(data.checkpoints, "splits")  # a place for states, no data
        assert not isinstance(data.task, Task) and not hasattr(data.task, "load")
        assert data.train is not splits["train"] and data.val is not splits["val"]
        assert np.array_equal(data.val.x, splits["val"].x)
        assert not data.val.x.flags.writeable and not data.train.y.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            data.val.y[:] = 0
    assert [s["val_score"] for s in result["selection"]] == [0.5, 0.5]  # balanced: a tie
    assert result["chosen_hyperparameters"] == {"which": 0}  # ties keep the first grid point
    assert result["metrics"]["test"]["accuracy"] == 0.5
    assert set(result["metrics"]) == {"train", "val", "test"}


def test_a_method_that_edits_its_val_copy_is_scored_on_the_true_val():
    """Hostile: re-enable writes on the given val labels and make them all 0 (what the
    constant predictor says).  The harness scores its own val: 0.5, not 1.0."""

    def edit_val(data, config):
        data.val.y.flags.writeable = True  # allowed on a copy that owns its memory
        data.val.y[:] = 0
        data.val.x.flags.writeable = True
        data.val.x[:] = 0
        return Fit.of(constant(data.task, config))

    splits = XOR.load()
    before = splits["val"].fingerprint()
    result = run_seed(FixedMethod(edit_val), "fixed", XOR, splits, [dict(QUICK)], [], 0)
    assert result["selection"][0]["val_score"] == 0.5
    assert result["metrics"]["val"]["accuracy"] == 0.5
    assert splits["val"].fingerprint() == before


def test_a_method_cannot_shorten_its_reported_train_time():
    """Hostile: wind the Checkpoints clock it holds far back.  The harness times the fit
    itself, so train_seconds still cover the fit's real time."""

    def fast_looking(data, config):
        data.checkpoints.banked = -1e6
        data.checkpoints.start += 1e6
        time.sleep(0.2)
        return Fit.of(constant(data.task, config))

    result = run(fast_looking)
    assert result["train_seconds"] >= 0.2


class Cheater(LIFNetwork):
    """Hostile: `run` returns the right labels (smuggled in from the split it is given)."""

    def run(self, x, batch_size=None, engine="gemm"):
        out = super().run(x, batch_size, engine)
        labels = (x[:, 0].argmax(-1) ^ x[:, -1].argmax(-1)).long()  # first XOR last: the answer
        logits = torch.nn.functional.one_hot(labels, 2).float()
        return out._replace(logits=logits)


def test_an_overridden_network_changes_nothing():
    """A subclass with its own `run` scores like the canonical network with its weights."""
    cheat = Cheater(network_spec(XOR.info, QUICK))
    assert cheat.run(torch.from_numpy(XOR.load()["test"].x)).logits.argmax(-1).float().mean() > 0
    honest = run(lambda d, c: Fit.of(constant(d.task, c)))
    cheated = run(lambda d, c: Fit.of(Cheater(network_spec(d.task, QUICK))))
    assert cheated["metrics"]["test"]["accuracy"] == 0.5  # zero weights: a constant prediction
    assert honest["metrics"]["test"] == cheated["metrics"]["test"]


class SneakyTensor(torch.Tensor):
    pass


@pytest.mark.parametrize(
    "tamper, message",
    [
        (lambda f: Fit(f.spec, {**f.weights, "extra": torch.zeros(1)}, None), "unexpected"),
        (lambda f: Fit(f.spec, {k: v[:1] for k, v in f.weights.items()}, None), "shape"),
        (
            lambda f: Fit(
                f.spec, {k: v.as_subclass(SneakyTensor) for k, v in f.weights.items()}, None
            ),
            "plain torch.Tensor",
        ),
        (
            lambda f: Fit(f.spec, {k: v.half() for k, v in f.weights.items()}, None),
            "float32 or float64",
        ),
        (lambda f: Fit(f.spec, {k: v / 0 for k, v in f.weights.items()}, None), "non-finite"),
        (lambda f: Fit({**f.spec, "p_last": "8"}, f.weights, None), "must be of type int"),
        (lambda f: Fit({**f.spec, "kind": "transformer"}, f.weights, None), "unknown network kind"),
        (lambda f: Fit({**f.spec, "surprise": 1}, f.weights, None), "unknown fields"),
        (lambda f: Fit(f.spec, f.weights, {"gap": float("nan")}), "finite JSON"),
        (lambda f: Fit(f.spec, f.weights, {"object": object()}), "finite JSON"),
    ],
)
def test_malformed_fits_are_refused(tamper, message):
    with pytest.raises(MethodOutputError, match=message):
        run(lambda d, c: tamper(Fit.of(constant(d.task, c))))


def test_the_recorded_hyperparameters_are_the_harness_grid_points():
    """A method that yields a config outside the grid (or edits the one it got) is refused."""

    class Liar(FixedMethod):
        def fit_grid(self, data, configs, seed):
            for config in configs:
                config["which"] = 7  # claims a grid point that was never searched
                yield config, Fit.of(constant(data.task, {"which": 0}))

    grid = [{**QUICK, "which": 0}, {**QUICK, "which": 1}]
    with pytest.raises(MethodOutputError, match="not a grid point"):
        run_seed(Liar(None), "liar", XOR, XOR.load(), grid, ["which"], 0)


def test_a_perfect_val_score_ends_the_grid_search(monkeypatch):
    """Ties keep the earlier point, so after a perfect val score later points are not trained."""
    import snnbench.harness as harness

    grid = [{**QUICK, "which": 0}, {**QUICK, "which": 1}]
    make = lambda d, c: Fit.of(constant(d.task, {}))  # noqa: E731
    full = FixedMethod(make)
    run_seed(full, "fixed", XOR, XOR.load(), grid, ["which"], 0)
    assert len(full.given) == 2
    monkeypatch.setattr(harness, "PERFECT", 0.5)  # a constant predictor scores 0.5 on balanced val
    short = FixedMethod(make)
    result = run_seed(short, "fixed", XOR, XOR.load(), grid, ["which"], 0)
    assert len(short.given) == 1 and result["chosen_hyperparameters"] == {"which": 0}
    assert len(result["selection"]) == 1


def test_scores_come_from_the_harness_forward_pass():
    """A perfect readout built by hand scores 1.0: the harness runs the network itself."""
    split = XOR.load()["test"]
    spec = {"depth": 2, "p_rec": 2, "p_last": 2, "branches": 1, "beta": 0.0}
    net = LIFNetwork(network_spec(XOR.info, spec))
    # neuron 0 fires on bit 1 at the current step; with beta = 0 features are the last bit only
    with torch.no_grad():
        net.hidden[0][0] = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
        net.readout.weight[:] = torch.tensor([[0.0, 1.0], [1.0, 0.0]])  # predict the last bit
    result = XOR.score(net, split)
    last_bit = split.x[:, -1].argmax(-1)
    assert result.metrics["accuracy"] == pytest.approx(float((last_bit == split.y).mean()))
    assert result.spikes_per_sample == pytest.approx(float(split.x.sum(axis=(1, 2)).mean()))
