"""The canonical LIF network: hand-computed dynamics, its three paths, and the two libraries."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from snnbench.models.lif import LIFNetwork, LIFSpec


def make_net(features="spike", every_step=True, dtype=torch.float32, seed=1, depth=4) -> LIFNetwork:
    spec = LIFSpec(
        n_in=3, n_out=4, depth=depth, p_rec=32, p_last=64, features=features, every_step=every_step
    )
    net = LIFNetwork(spec).to(dtype)
    net.init_hidden(torch.Generator().manual_seed(seed))
    torch.nn.init.normal_(net.readout.weight, generator=torch.Generator().manual_seed(seed))
    return net


def test_one_neuron_by_hand():
    """beta = 0.5, theta = 1: soft reset by subtraction, no delay, spike at u >= theta."""
    spec = LIFSpec(
        n_in=1,
        n_out=1,
        depth=2,
        p_rec=1,
        p_last=1,
        branches=1,
        beta=0.5,
        theta=1.0,
        features="analog",
        every_step=True,
    )
    net = LIFNetwork(spec)
    with torch.no_grad():
        net.hidden[0].fill_(1.0)
    x = torch.tensor([[0.6, 0.6, 0.7, 2.5, 0.0, -2.0]]).unsqueeze(-1)
    # u: 0.6 | 0.3+0.6=0.9 | 0.45+0.7=1.15 -> spike, r=0.15 | 0.075+2.5=2.575 -> spike, r=1.575
    #    | 0.7875 | 0.39375-2 = -1.60625
    assert net.spike_trains(x)[0][:, 0, 0].tolist() == [0, 0, 1, 1, 0, 0]
    r = net.features(x)[0, :, 0]
    assert torch.allclose(r, torch.tensor([0.6, 0.9, 0.15, 1.575, 0.7875, -1.60625]))
    membrane = LIFNetwork(dataclasses.replace(spec, features="membrane"))
    membrane.load_state_dict(net.state_dict())
    assert membrane.features(x)[0, :, 0].tolist() == [1, 1, 1, 1, 1, 0]


def test_threshold_is_inclusive():
    spec = LIFSpec(
        n_in=1, n_out=1, depth=2, p_rec=1, p_last=1, branches=1, beta=0.5, every_step=True
    )
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


@pytest.mark.parametrize("engine", ["gemm", "events"])
@pytest.mark.parametrize("features", ["spike", "membrane", "analog"])
def test_fast_path_ignores_batch_size_and_threads(features, engine):
    """The default memory-sized batches and the kernels' thread count never change a bit."""
    net = make_net(features, every_step=True)
    x = torch.rand(301, 40, 3, generator=torch.Generator().manual_seed(2))
    reference = net.run(x, batch_size=301, engine=engine)
    threads = torch.get_num_threads()
    try:
        for batch_size, n_threads in [(None, threads), (1, threads), (37, 1), (None, 1)]:
            torch.set_num_threads(n_threads)
            out = net.run(x, batch_size=batch_size, engine=engine)
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
        pytest.importorskip(
            "spikingjelly", reason="spikingjelly is installed by `make install` with --no-deps"
        )
        from snnbench.baselines.sg_spikingjelly import SpikingjellyLIF as Twin
    net = make_net(features, True, dtype)
    x = torch.rand(64, 12, 3, dtype=dtype, generator=torch.Generator().manual_seed(0)) * 1.5
    twin = Twin.from_network(net)
    ours, theirs = net.spike_trains(x), twin.spike_trains(x)
    assert len(ours) == len(theirs) == 3
    for layer, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        assert a.sum() > 0, "a silent layer would prove nothing"
        assert torch.equal(a, b.to(a.dtype)), f"layer {layer}: {int((a != b).sum())} spikes differ"
    # snntorch keeps beta as a float32 buffer, so float64 analog features differ by ~1e-5.
    assert torch.allclose(twin(x), net(x), atol=1e-3)
    back = twin.to_network()
    assert all(
        torch.equal(a, b)
        for a, b in zip(back.state_dict().values(), net.state_dict().values(), strict=False)
    )


@pytest.mark.parametrize("engine, depth", [("gemm", 2), ("events", 3)])
def test_one_input_networks_multiply_bit_for_bit(engine, depth):
    """With one input the fast path multiplies instead of calling a matrix product: the first
    layer's currents are the same single roundings (analog features show every bit; the
    reference computes them with torch.matmul), and its spikes are snntorch's."""
    from snnbench.baselines.sg_snntorch import SnntorchLIF

    spec = LIFSpec(
        n_in=1, n_out=2, depth=depth, p_rec=8, p_last=24, features="analog", every_step=True
    )
    net = LIFNetwork(spec)
    net.init_hidden(torch.Generator().manual_seed(2))
    x = torch.rand(40, 30, 1, generator=torch.Generator().manual_seed(3)) * 2
    expected, _ = float64_products(net, x)  # a float32 matmul for the first layer
    assert torch.equal(net.features(x, engine=engine), expected)
    spiking = LIFNetwork(LIFSpec(n_in=1, n_out=2, depth=2, p_rec=8, p_last=24, every_step=True))
    spiking.init_hidden(torch.Generator().manual_seed(2))
    theirs = SnntorchLIF.from_network(spiking).spike_trains(x)[0]  # (T, n, width)
    assert 0 < theirs.mean() < 1
    assert torch.equal(spiking.features(x), theirs.transpose(0, 1))


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
        expected[:, t] = {"spike": fired.to(dtype), "membrane": (r >= 0).to(dtype), "analog": r}[
            output
        ]
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
        "def rss(): return int(next(l for l in open('/proc/self/status') "
        "if l.startswith('VmRSS')).split()[1])\n"
        "net = LIFNetwork(LIFSpec(n_in=1, n_out=10, depth=3, p_rec=512, p_last=1024, "
        "features='membrane'))\n"
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
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    grown_mb = int(out.stdout.split()[-1])
    assert grown_mb < 150, f"resident memory grew by {grown_mb} MB over 150 batches of 3 MB"


def float64_products(net: LIFNetwork, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The events engine's arithmetic spelled out: the first layer as in the gemm path; every
    spike-fed layer's currents as float64 products rounded once to the network's dtype."""
    from snnbench.models.scan import lif_scan_

    n, steps, _ = x.shape
    count = torch.zeros(n, dtype=torch.int64)
    h = x.transpose(0, 1).reshape(1, steps * n, -1)
    for i, w in enumerate(net.hidden):
        w = w.detach()
        rows = h.reshape(-1, steps * n, h.shape[-1])
        currents = (
            torch.matmul(rows, w.transpose(1, 2))
            if i == 0
            else torch.matmul(rows.double(), w.double().transpose(1, 2)).to(w.dtype)
        )
        h = currents.view(w.shape[0], steps, n, -1)
        lif_scan_(
            h,
            net.spec.beta,
            net.spec.theta,
            net.spec.features if i == len(net.hidden) - 1 else "spike",
            count,
        )
    k, _, _, width = h.shape
    return h.permute(2, 1, 0, 3).reshape(n, steps, k * width), count


@pytest.mark.parametrize("features", ["spike", "membrane", "analog"])
@pytest.mark.parametrize("every_step", [False, True])
@pytest.mark.parametrize("depth", [2, 3, 4])  # depth 2: no spike-fed layer, the product path
def test_event_engine_equals_float64_products_bit_for_bit(features, every_step, depth):
    """Each current is an exact float64 sum of float32 weights, rounded once: whatever the
    order in which inputs switch on and off, it equals the float64 product of the spikes.
    Odd widths exercise the kernels' remainders; analog outputs show every rounding."""
    spec = LIFSpec(
        n_in=3, n_out=4, depth=depth, p_rec=34, p_last=22, features=features, every_step=every_step
    )
    net = LIFNetwork(spec)
    net.init_hidden(torch.Generator().manual_seed(4))
    x = torch.rand(97, 30, 3, generator=torch.Generator().manual_seed(5))
    expected, count = float64_products(net, x)
    assert (
        expected.abs().sum() > 0 and 0 < count.float().mean() < 30 * spec.num_neurons
    )  # not silent, not saturated
    ours = net.features(x, engine="events")
    assert torch.equal(ours, expected if every_step else expected[:, -1])
    assert torch.equal(net.run(x, engine="events").spikes, count)


def test_event_engine_spikes_match_the_libraries_up_to_rounding():
    """The gemm path is bit for bit the libraries' float32 products; the events engine's
    currents are the correctly rounded ones, so a spike differs only where the membrane
    lands within float32 rounding of theta: none, or a handful, of 1.2 million here."""
    net = LIFNetwork(LIFSpec(n_in=28, n_out=10, depth=3, p_rec=128, p_last=256, every_step=True))
    net.init_hidden(torch.Generator().manual_seed(0))
    x = torch.rand(200, 28, 28, generator=torch.Generator().manual_seed(1))
    a, b = net.features(x), net.features(x, engine="events")
    assert a.numel() > 1_000_000 and 0.1 < a.mean() < 0.9
    assert (a != b).sum() <= 10


@pytest.mark.parametrize("split", ["_split_scalar", "_split_compressed"])
def test_change_detection_finds_every_rise_and_fall_in_order(split):
    """Both ways of listing the inputs whose spike changed (the compressed one runs where the
    CPU has AVX-512; elsewhere LLVM emulates it, correctly but slowly) against numpy."""
    import numpy as np

    from snnbench.models import scan

    rng = np.random.default_rng(0)
    for size in (16, 48, 256):
        for density in (0.0, 0.05, 0.5, 1.0):
            now = (rng.random(size) < density).astype(np.uint8)
            before = (rng.random(size) < density).astype(np.uint8)
            changed, rising, falling = (np.full(size, -1, dtype=np.int32) for _ in range(3))
            args = (
                (now, before, rising, falling)
                if split == "_split_compressed"
                else (now, before, changed, rising, falling)
            )
            rises, falls = getattr(scan, split)(*args)
            assert rising[:rises].tolist() == np.flatnonzero(now > before).tolist()
            assert falling[:falls].tolist() == np.flatnonzero(now < before).tolist()


def test_event_engine_in_float64_and_bad_engines():
    net = make_net("analog", every_step=True, dtype=torch.float64)
    x = torch.rand(50, 20, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    assert torch.allclose(net.features(x, engine="events"), net.features(x), atol=1e-9)
    with pytest.raises(ValueError, match="engine"):
        net.features(x, engine="cuda")  # type: ignore[arg-type]


def test_the_kernels_keep_the_thread_count_torch_was_given():
    """Starting numba's pool must not raise torch's thread count (OMP_NUM_THREADS=1 means one
    core, for torch and for the kernels, and the result records 1)."""
    code = (
        "import torch\n"
        "from snnbench.models.lif import LIFNetwork, LIFSpec\n"
        "import numba\n"
        "net = LIFNetwork(LIFSpec(n_in=2, n_out=2, depth=3, p_rec=8, p_last=8))\n"
        "net.features(torch.rand(4, 3, 2))\n"
        "print(torch.get_num_threads(), numba.get_num_threads())\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.split() == ["1", "1"]
