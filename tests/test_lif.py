"""The canonical LIF network: hand-computed dynamics, its three paths, and the two libraries."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from snnbench.models.lif import LIFNetwork, LIFSpec


def make_net(features="spike", every_step=True, dtype=torch.float32, seed=1, depth=4) -> LIFNetwork:
    spec = LIFSpec(n_in=3, n_out=4, depth=depth, p_rec=32, p_last=64, features=features, every_step=every_step)
    net = LIFNetwork(spec).to(dtype)
    net.init_hidden(torch.Generator().manual_seed(seed))
    torch.nn.init.normal_(net.readout.weight, generator=torch.Generator().manual_seed(seed))
    return net


def test_one_neuron_by_hand():
    """beta = 0.5, theta = 1: soft reset by subtraction, no delay, spike at u >= theta."""
    spec = LIFSpec(n_in=1, n_out=1, depth=2, p_rec=1, p_last=1, branches=1, beta=0.5, theta=1.0, features="analog", every_step=True)
    net = LIFNetwork(spec)
    with torch.no_grad():
        net.hidden[0].fill_(1.0)
    x = torch.tensor([[0.6, 0.6, 0.7, 2.5, 0.0, -2.0]]).unsqueeze(-1)
    # u: 0.6 | 0.3+0.6=0.9 | 0.45+0.7=1.15 -> spike, r=0.15 | 0.075+2.5=2.575 -> spike, r=1.575
    #    | 0.7875 | 0.39375-2 = -1.60625
    assert net.spike_trains(x)[0][:, 0, 0].tolist() == [0, 0, 1, 1, 0, 0]
    r = net.features(x)[0, :, 0]
    assert torch.allclose(r, torch.tensor([0.6, 0.9, 0.15, 1.575, 0.7875, -1.60625]))
    membrane = LIFNetwork(LIFSpec(**{**spec.to_dict(), "features": "membrane"}))
    membrane.load_state_dict(net.state_dict())
    assert membrane.features(x)[0, :, 0].tolist() == [1, 1, 1, 1, 1, 0]


def test_threshold_is_inclusive():
    spec = LIFSpec(n_in=1, n_out=1, depth=2, p_rec=1, p_last=1, branches=1, beta=0.5, every_step=True)
    net = LIFNetwork(spec)
    with torch.no_grad():
        net.hidden[0].fill_(1.0)
    assert net.spike_trains(torch.ones(1, 2, 1))[0].flatten().tolist() == [1.0, 1.0]


@pytest.mark.parametrize("features", ["spike", "membrane", "analog"])
@pytest.mark.parametrize("every_step", [False, True])
def test_fast_differentiable_and_step_paths_agree(features, every_step):
    net = make_net(features, every_step, torch.float64)
    x = torch.rand(50, 7, 3, dtype=torch.float64)
    fast = net.run(x, batch_size=16)
    assert torch.allclose(fast.logits, net(x), atol=1e-10)
    state, logits, count = net.init_state(50), [], torch.zeros(50, dtype=torch.int64)
    for t in range(7):
        state, step_logits, c = net.step(state, x[:, t])
        logits.append(step_logits)
        count += c
    stepped = torch.stack(logits, 1) if every_step else logits[-1]
    assert torch.allclose(stepped, fast.logits, atol=1e-10)
    assert torch.equal(count, fast.spikes)
    assert torch.equal(fast.spikes, sum(s.sum(dim=(0, 2)) for s in net.spike_trains(x)).long())


@pytest.mark.parametrize("features", ["spike", "membrane", "analog"])
def test_fast_path_ignores_batch_size_and_threads(features):
    """The default memory-sized batches and the scan's thread count never change a bit."""
    net = make_net(features, every_step=True)
    x = torch.rand(301, 40, 3, generator=torch.Generator().manual_seed(2))
    reference = net.run(x, batch_size=301)
    threads = torch.get_num_threads()
    try:
        for batch_size, n_threads in [(None, threads), (1, threads), (37, 1), (None, 1)]:
            torch.set_num_threads(n_threads)
            out = net.run(x, batch_size=batch_size)
            assert torch.equal(out.logits, reference.logits), (batch_size, n_threads)
            assert torch.equal(out.spikes, reference.spikes), (batch_size, n_threads)
    finally:
        torch.set_num_threads(threads)


def test_branches_are_independent():
    """Zeroing branch 1's weights must leave branch 0's features untouched."""
    net = make_net("spike", False)
    x = torch.rand(20, 5, 3)
    before = net.features(x)
    with torch.no_grad():
        for w in net.hidden:
            w[1].zero_()
    after = net.features(x)
    half = net.spec.p_last // 2
    assert torch.equal(before[:, :half], after[:, :half]) and not after[:, half:].any()


@pytest.mark.parametrize("library", ["snntorch", "spikingjelly"])
@pytest.mark.parametrize("features", ["spike", "membrane", "analog"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_same_weights_same_spikes_in_every_simulator(library, features, dtype):
    if library == "snntorch":
        from snnbench.baselines.sg_snntorch import SnntorchLIF as Twin
    else:
        pytest.importorskip("spikingjelly", reason="spikingjelly is installed by `make install` with --no-deps")
        from snnbench.baselines.sg_spikingjelly import SpikingjellyLIF as Twin
    net = make_net(features, True, dtype)
    x = torch.rand(64, 12, 3, dtype=dtype, generator=torch.Generator().manual_seed(0)) * 1.5
    twin = Twin.from_network(net)
    ours, theirs = net.spike_trains(x), twin.spike_trains(x)
    assert len(ours) == len(theirs) == 3
    for layer, (a, b) in enumerate(zip(ours, theirs)):
        assert a.sum() > 0, "a silent layer would prove nothing"
        assert torch.equal(a, b.to(a.dtype)), f"layer {layer}: {int((a != b).sum())} spikes differ"
    # snntorch keeps beta as a float32 buffer, so float64 analog features differ by ~1e-5.
    assert torch.allclose(twin(x), net(x), atol=1e-3)
    back = twin.to_network()
    assert all(torch.equal(a, b) for a, b in zip(back.state_dict().values(), net.state_dict().values()))


def test_spec_rejects_bad_shapes():
    with pytest.raises(ValueError, match="divide"):
        LIFSpec(n_in=1, n_out=2, p_rec=3, p_last=4, branches=2)
    with pytest.raises(ValueError, match="depth"):
        LIFSpec(n_in=1, n_out=2, depth=1)
    with pytest.raises(ValueError, match="features"):
        LIFSpec(n_in=1, n_out=2, features="rate")  # type: ignore[arg-type]


@pytest.mark.parametrize("output", ["spike", "membrane", "analog"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_scan_equals_the_torch_scan_bit_for_bit(output, dtype):
    """The numba scan against the plain torch loop it replaced (fused multiply-add included:
    the analog outputs differ in the last bit for about a fifth of the neurons otherwise)."""
    from snnbench.models.scan import lif_scan_

    beta, theta = 0.95, 1.0
    currents = torch.randn(2, 30, 200, 24, dtype=dtype, generator=torch.Generator().manual_seed(3))
    ours, count = currents.clone(), torch.zeros(200, dtype=torch.int64)
    lif_scan_(ours, beta, theta, output, count)

    expected, fired_total = torch.empty_like(currents), torch.zeros(200, dtype=torch.int64)
    r = torch.zeros_like(currents[:, 0])
    for t in range(currents.shape[1]):
        u = currents[:, t].clone().add_(r, alpha=beta)
        fired = u >= theta
        r = u.sub(fired.to(dtype), alpha=theta)
        fired_total += fired.sum(dim=(0, 2))
        expected[:, t] = {"spike": fired.to(dtype), "membrane": (r >= 0).to(dtype), "analog": r}[output]
    assert torch.equal(ours, expected)
    assert torch.equal(count, fired_total)


def test_many_small_batches_do_not_grow_memory():
    """Regression: with per-batch results kept in a list between the batches' 3 MB buffers,
    glibc's heap grew by one buffer per batch in a one-thread run (11 GB on smnist-mini-t784)."""
    import subprocess
    import sys

    script = (
        "import torch\n"
        "from snnbench.models.lif import LIFNetwork, LIFSpec\n"
        "def rss(): return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1])\n"
        "net = LIFNetwork(LIFSpec(n_in=1, n_out=10, depth=3, p_rec=512, p_last=1024, features='membrane'))\n"
        "net.init_hidden(torch.Generator().manual_seed(0))\n"
        "x = torch.rand(150, 784, 1)\n"
        "net.features(x[:2], batch_size=1)\n"
        "before = rss()\n"
        "net.features(x, batch_size=1)\n"
        "net.run(x, batch_size=1)\n"
        "print((rss() - before) // 1024)\n"
    )
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to read the resident set size")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    grown_mb = int(out.stdout.split()[-1])
    assert grown_mb < 150, f"resident memory grew by {grown_mb} MB over 150 batches of 3 MB"
