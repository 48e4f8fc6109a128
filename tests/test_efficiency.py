"""The harness's efficiency metrics against NeuroBench 2.3.0 itself, on the same network.

NeuroBench runs on the snntorch twin of the canonical network (baselines/sg_snntorch.py: one
`snn.Leaky` per layer of each branch), with the whole set as one batch, so that its per-call
choice between accumulates and multiply-accumulates is the harness's per-step choice over the
split.  Weights are partly zero (pruned), so the non-zero fan-out counts.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from snnbench.cli import app
from snnbench.efficiency import measure, probe
from snnbench.models.gru import GRUNetwork, GRUSpec
from snnbench.models.lif import LIFNetwork, LIFSpec
from snnbench.results import validate_file

neurobench = pytest.importorskip("neurobench", reason="NeuroBench 2.3.0 (make install) is needed")
runner = CliRunner()


def pruned_net(
    features: str, every_step: bool, n_in: int = 5, seed: int = 0, beta: float = 0.9
) -> LIFNetwork:
    spec = LIFSpec(
        n_in=n_in, n_out=3, depth=4, p_rec=24, p_last=16, branches=2, beta=beta,
        features=features, every_step=every_step,
    )  # fmt: skip
    net = LIFNetwork(spec)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for w in net.hidden:
            w.copy_(torch.randn(w.shape, generator=g) * 1.5)
            w.mul_(torch.rand(w.shape, generator=g) > 0.3)  # 30 % of the weights pruned
        net.hidden[1][0, :, 3] = 0  # neuron 3 of layer 0, branch 0: no outgoing weight
        net.readout.weight.copy_(torch.randn(net.readout.weight.shape, generator=g))
        net.readout.weight[:, 5] = 0  # so is feature 5 of the last layer
        net.readout.bias.copy_(torch.randn(3, generator=g))
    return net


def inputs(kind: str, n: int = 40, steps: int = 7, n_in: int = 5, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if kind in ("binary", "sparse"):
        rate = 0.4 if kind == "binary" else 0.1
        return (torch.rand(n, steps, n_in, generator=g) < rate).float()
    x = torch.rand(n, steps, n_in, generator=g) * 2
    x[:, 2] = (x[:, 2] > 1).float()  # one step whose inputs are binary over the whole set
    x[:, :, 0] = 0  # an input that never fires
    return x


def neurobench_figures(net: LIFNetwork, x: torch.Tensor) -> dict:
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.static import ConnectionSparsity, ParameterCount
    from neurobench.metrics.workload import ActivationSparsity, MembraneUpdates, SynapticOperations
    from neurobench.models import SNNTorchModel

    from snnbench.baselines.sg_snntorch import SnntorchLIF

    twin = SnntorchLIF.from_network(net)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, torch.zeros(len(x))), batch_size=len(x)
    )
    model = SNNTorchModel(twin, custom_forward=True)
    bench = Benchmark(
        model,
        loader,
        [],
        [],
        [
            [ParameterCount, ConnectionSparsity],
            [SynapticOperations, ActivationSparsity, MembraneUpdates],
        ],
    )
    return bench.run(quiet=True)


CASES = [
    ("spike", False, "binary"),
    ("spike", True, "analog"),
    ("membrane", False, "analog"),
    ("membrane", True, "binary"),
    ("analog", False, "binary"),
    ("analog", True, "analog"),
    # no leak and rare inputs: membranes that stay put without being zero, which NeuroBench
    # does not count as updates
    ("spike", True, "sparse", 1.0),
]


@pytest.mark.parametrize("features,every_step,kind,beta", [(*c, 0.9)[:4] for c in CASES])
def test_matches_neurobench_on_the_snntorch_twin(features, every_step, kind, beta):
    net, x = pruned_net(features, every_step, beta=beta), inputs(kind)
    ours = measure(net, x, "test")
    theirs = neurobench_figures(net, x)
    ops = theirs["SynapticOperations"]
    assert ours["effective_acs"] == ops["Effective_ACs"]
    assert ours["effective_macs"] == ops["Effective_MACs"]
    assert ours["dense"] == ops["Dense"]
    assert ours["activation_sparsity"] == pytest.approx(theirs["ActivationSparsity"], abs=1e-12)
    assert ours["membrane_updates"] == theirs["MembraneUpdates"]
    assert round(ours["connection_sparsity"], 4) == theirs["ConnectionSparsity"]  # it rounds
    assert ours["parameters_nonzero"] < theirs["ParameterCount"] == net.num_parameters
    # the cases exercise what they are named for: both kinds of operations, and activity
    assert ours["effective_acs"] > 0 and 0 < ours["activation_sparsity"] < 1
    assert (ours["effective_macs"] > 0) == (kind == "analog" or features == "analog")


def test_static_figures_by_hand():
    net = pruned_net("spike", False)
    ours = measure(net, inputs("binary"), "test")
    assert ours["parameters_nonzero"] == sum(int((p != 0).sum()) for p in net.parameters())
    # 2 branches x (12 + 12 + 8) neurons, less the two without an outgoing weight
    assert net.spec.num_neurons == 64 and ours["neurons_active"] == 62


def long_net() -> tuple[LIFNetwork, torch.Tensor]:
    """Long sequences near threshold: where the fast path's fused multiply-add and the step
    API's two roundings can part (scan.py), in a spike now and then."""
    spec = LIFSpec(n_in=5, n_out=3, depth=3, p_rec=64, p_last=64, beta=0.99, every_step=False)
    net = LIFNetwork(spec)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for w in net.hidden:
            w.copy_(torch.randn(w.shape, generator=g) * 0.4)
    return net, torch.rand(300, 200, 5, generator=g)


def test_each_replay_fires_exactly_the_spikes_its_scorer_fired():
    """run-scored tasks are replayed by the fast path's batches, products and arithmetic;
    step-scored ones by the step API; each gives its scorer's spike count."""
    net, x = long_net()
    assert sum(int(s.sum()) for s in probe(net, x, "run").spikes) == int(net.run(x).spikes.sum())
    state, stepped = net.init_state(len(x)), 0
    for t in range(x.shape[1]):
        state, _, count = net.step(state, x[:, t])
        stepped += int(count.sum())
    assert sum(int(s.sum()) for s in probe(net, x, "step").spikes) == stepped > 0


def test_a_replay_that_misses_the_scored_spikes_is_refused():
    from snnbench.efficiency import ReplayMismatch

    net, x = pruned_net("spike", True), inputs("analog")
    scored = net.run(x).spikes.double().mean().item()
    assert measure(net, x, "test", "run", scored)["effective_acs"] > 0
    with pytest.raises(ReplayMismatch, match="replay fired"):
        measure(net, x, "test", "run", scored + 1.0)


def test_both_replays_tally_the_same_way():
    """On a network and inputs where the two paths fire alike, every figure agrees."""
    net, x = pruned_net("membrane", True), inputs("binary", n=30)
    assert measure(net, x, "test", "run") == measure(net, x, "test", "step")


def test_silent_network_does_nothing_but_update_at_the_first_step():
    net = pruned_net("spike", False)
    with torch.no_grad():
        for w in net.hidden:
            w.zero_()
    x = inputs("binary")
    ours = measure(net, x, "test")
    assert ours["effective_acs"] == ours["effective_macs"] == 0
    assert ours["activation_sparsity"] == 1.0
    assert ours["membrane_updates"] == net.spec.num_neurons  # the first step only
    # the weights decide, not the activity: only the last layer has outgoing (readout) weights
    assert ours["neurons_active"] == net.spec.p_last - 1


def test_gru_has_static_figures_only():
    net = GRUNetwork(GRUSpec(n_in=4, n_out=2, hidden=8))
    ours = measure(net, torch.rand(5, 3, 4), "test")
    assert ours["parameters_nonzero"] == net.num_parameters
    assert ours["effective_acs"] is None and ours["membrane_updates"] is None
    assert ours["neurons_active"] is None


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("efficiency") / "results"
    args = ["evaluate", "--method", "recon", "--task", "add-b2", "--preset", "quick"]
    result = runner.invoke(app, [*args, "--seeds", "0", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out / "recon" / "add-b2"


def tampered(record_path: Path, tmp_path: Path, **figures) -> Path:
    """A copy of the record (and its network) with efficiency figures changed."""
    folder = tmp_path / "recon" / "add-b2"
    folder.mkdir(parents=True)
    shutil.copy(record_path.with_suffix(".safetensors"), folder / "seed-0.safetensors")
    doc = json.loads(record_path.read_text())
    doc["run"]["efficiency"].update(figures)
    (folder / "seed-0.json").write_text(json.dumps(doc))
    return folder / "seed-0.json"


def test_evaluate_records_efficiency_that_rescores_exactly(evaluated):
    """On an autoregressive task (inputs with the network's carries fed back)."""
    run = json.loads((evaluated / "seed-0.json").read_text())["run"]
    entry = run["efficiency"]
    assert entry["split"] == "test" and entry["definitions"] == "neurobench-2.3.0"
    assert 0 < entry["effective_acs"] < entry["dense"] and entry["effective_macs"] == 0
    assert entry["activation_sparsity"] == pytest.approx(1 - run["spikes"]["per_neuron_per_step"])
    summary = json.loads(evaluated.with_suffix(".json").read_text())["summary"]
    assert summary["efficiency"]["effective_acs"]["mean"] == entry["effective_acs"]
    result = runner.invoke(app, ["rescore", str(evaluated / "seed-0.json")])
    assert result.exit_code == 0 and "rescored exactly" in result.output, result.output


def test_impossible_efficiency_is_refused_and_a_changed_one_does_not_rescore(evaluated, tmp_path):
    record = evaluated / "seed-0.json"
    entry = json.loads(record.read_text())["run"]["efficiency"]
    cases = {  # figures -> what the problem says
        "beyond": ({"effective_acs": 1e12}, "exceed the dense count"),
        "sparsity": ({"activation_sparsity": 0.999}, "spike count gives"),
        "gru-like": ({"membrane_updates": None}, "exactly for spiking networks"),
        "dense": ({"dense": entry["dense"] + 1}, "the spec gives"),
        "few updates": ({"membrane_updates": 1.0}, "membrane updates 1.0 per sample outside"),
        "many updates": ({"membrane_updates": 1e12}, "outside"),
    }
    for name, (figures, says) in cases.items():
        problems = validate_file(tampered(record, tmp_path / name, **figures))
        assert any("efficiency" in p.field and says in p.message for p in problems), (
            name,
            problems,
        )
    plausible = tampered(
        record, tmp_path / "plausible", membrane_updates=entry["membrane_updates"] + 1
    )
    assert validate_file(plausible) == []
    result = runner.invoke(app, ["rescore", str(plausible)])
    assert result.exit_code != 0 and "membrane_updates" in result.output, result.output


@pytest.mark.parametrize(
    "spec, says",
    [
        ({"depth": 10**15}, "the spec gives"),  # by formula: no list of 10^15 layers is built
        ({"p_rec": 10**200, "p_last": 10**200}, "too large"),  # beyond a float: no overflow
        ({"branches": 0}, "branches must be >= 1"),  # no division by zero
        ({"n_in": 7}, "task add-b2 needs"),  # a network of another task
        ({"p_last": 20}, "the spec gives"),  # dense and neurons moved together: counts differ
    ],
)
def test_a_hostile_spec_is_a_problem_not_a_crash(evaluated, tmp_path, spec, says):
    path = tampered(evaluated / "seed-0.json", tmp_path)
    doc = json.loads(path.read_text())
    doc["run"]["model"]["spec"].update(spec)
    path.write_text(json.dumps(doc))
    problems = validate_file(path)
    assert any(says in p.message for p in problems), problems


def test_efficiency_on_a_split_the_task_lacks_is_a_problem(evaluated, tmp_path):
    path = tampered(evaluated / "seed-0.json", tmp_path, split="nonsense")
    doc = json.loads(path.read_text())
    doc["run"]["spikes"]["split"] = "nonsense"  # consistent with the spikes, still no split
    path.write_text(json.dumps(doc))
    assert any("not a split of add-b2" in p.message for p in validate_file(path))
