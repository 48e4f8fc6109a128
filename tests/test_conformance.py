"""Every built-in method and both library baselines pass the conformance kit for plugins."""

from __future__ import annotations

import pytest

from snnbench.methods import available_methods
from snnbench.methods.base import Fit, Method, network_spec
from snnbench.models.lif import LIFNetwork
from snnbench.testing import CHECKS, check_method, parametrize_with_checks

METHODS = sorted(available_methods())


def test_every_registered_method_is_covered():
    assert {"recon", "sg", "sg-snntorch", "sg-spikingjelly", "admm", "gru"} <= set(METHODS)


@parametrize_with_checks(METHODS)
def test_conformance(method, check):
    check(method)


class Peeker(Method):
    """Hostile: loads a task (its test split) while training."""

    name = "peeker"
    config_resource = "snnbench.methods:configs/sg.toml"

    def fit(self, data, config, seed):
        from snnbench.tasks import get_task

        get_task(data.task.id).load()  # reaches for the test split
        return Fit.of(LIFNetwork(network_spec(data.task, config)))


class Scribbler(Method):
    """Hostile: edits the configs and the (unfrozen) train labels it was given."""

    name = "scribbler"
    config_resource = "snnbench.methods:configs/sg.toml"

    def fit(self, data, config, seed):
        config["lr"] = 123.0
        data.train.y.flags.writeable = True
        data.train.y[:] = 0
        return Fit.of(LIFNetwork(network_spec(data.task, config)))


@pytest.fixture
def registered(monkeypatch):
    """Register test-only methods under their names, as an entry point would."""
    import snnbench.methods as methods

    class EntryPoint:
        def __init__(self, cls):
            self.cls, self.value = cls, f"tests:{cls.__name__}"

        def load(self):
            return self.cls

    real = methods.available_methods
    extra = {cls.name: EntryPoint(cls) for cls in (Peeker, Scribbler)}
    monkeypatch.setattr(methods, "available_methods", lambda: {**real(), **extra})


def test_the_kit_catches_a_method_that_peeks(registered):
    with pytest.raises(AssertionError) as info:
        check_method("peeker")
    text = str(info.value)
    assert "never_touches_test" in text and "scorable_on_a_sequence_task" in text


def test_the_kit_catches_a_method_that_edits_what_it_was_given(registered):
    with pytest.raises(AssertionError, match="leaves_config_and_data_untouched"):
        check_method("scribbler")
    names = {"deterministic_for_a_seed", "progress_is_monotone", "quick_preset_in_seconds"}
    assert set(CHECKS) >= names
