"""The fused differentiable LIF layer against torch autograd through the step loop it replaced:
the same spikes, and the same outputs and gradients up to float rounding (layers fed by spikes
sum their currents from events in a fixed order, where the loop's BLAS product has its own:
tests/test_spike_product.py pins that order)."""

from __future__ import annotations

import pytest
import torch

from snnbench.models.lif import LIFNetwork, LIFSpec
from snnbench.models.lif_grad import last_layer, spiking_layer
from snnbench.models.surrogate import atan_spike


def step_loop(net: LIFNetwork, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The differentiable path before the fused layer: a Python loop over time of autograd
    operations (the reference the fused layer must reproduce); logits and every layer's
    spikes (T, n, K * width)."""
    spec = net.spec
    n, steps, _ = x.shape
    h = x.transpose(0, 1).reshape(1, steps * n, -1).to(net.hidden[0].dtype)
    record = []
    for w in net.hidden:
        currents = torch.matmul(h, w.transpose(1, 2)).view(w.shape[0], steps, n, -1)
        r = torch.zeros_like(currents[:, 0])
        spikes, feats = [], []
        for t in range(steps):
            u = spec.beta * r + currents[:, t]
            s = atan_spike(u - spec.theta)
            r = u - spec.theta * s.detach()
            spikes.append(s)
            feats.append(atan_spike(r) if spec.features == "membrane" else r)
        h = torch.stack(spikes, 1).view(w.shape[0], steps * n, -1)
        record.append(h.detach().view(-1, steps, n, h.shape[-1]).permute(1, 2, 0, 3).flatten(2))
    last = torch.stack(feats, 1) if spec.features != "spike" else h.view(-1, steps, n, h.shape[-1])
    feats = last.permute(1, 2, 0, 3).reshape(steps, n, -1)
    return net.readout(feats.transpose(0, 1) if spec.every_step else feats[-1]), record


def same_spikes(net: LIFNetwork, x: torch.Tensor, theirs: list[torch.Tensor]) -> None:
    """Every layer's spikes equal; if float rounding of the currents flipped one at threshold,
    the test says so (the outputs and gradients compared next would then differ by more than
    rounding, and the comparison would prove nothing)."""
    for layer, (mine, ref) in enumerate(zip(net.spike_trains(x), theirs, strict=True)):
        flips = int((mine != ref).sum())
        assert flips == 0, f"layer {layer}: {flips} spikes flipped at threshold (float rounding)"


def network(seed: int, dtype: torch.dtype, **spec) -> LIFNetwork:
    net = LIFNetwork(LIFSpec(**spec)).to(dtype)
    g = torch.Generator().manual_seed(seed)
    net.init_hidden(g, gain=2.0)  # fires a good fraction of neurons: gradients reach every layer
    with torch.no_grad():
        net.readout.weight.copy_(torch.randn(net.readout.weight.shape, generator=g, dtype=dtype))
    return net


def grads(net: LIFNetwork, logits: torch.Tensor, seed: int) -> list[torch.Tensor]:
    net.zero_grad()
    target = torch.randn(
        logits.shape, generator=torch.Generator().manual_seed(seed), dtype=logits.dtype
    )
    (logits * target).sum().backward()
    return [p.grad.clone() for p in net.parameters()]


SHAPES = [
    dict(n_in=3, n_out=4, depth=2, p_rec=8, p_last=12, features="spike"),
    dict(n_in=2, n_out=2, depth=5, p_rec=20, p_last=30, features="membrane"),
    dict(n_in=5, n_out=3, depth=3, p_rec=16, p_last=10, branches=1, features="analog"),
    dict(n_in=3, n_out=5, depth=3, p_rec=12, p_last=16, features="spike", every_step=True),
    dict(n_in=4, n_out=3, depth=4, p_rec=14, p_last=18, features="membrane", every_step=True),
]


def agree(net: LIFNetwork, x: torch.Tensor, seed: int, rtol: float) -> None:
    """The same spikes in every layer; logits and every parameter's gradient within rtol."""
    ours, (theirs, spikes) = net(x), step_loop(net, x)
    same_spikes(net, x, spikes)
    assert torch.allclose(ours, theirs, rtol=rtol, atol=rtol * float(theirs.abs().max()))
    for mine, ref, (name, _) in zip(
        grads(net, ours, seed), grads(net, theirs, seed), net.named_parameters(), strict=True
    ):
        assert ref.abs().max() > 0, f"{name}: no gradient reaches it; the test would prove nothing"
        scale = ref.abs().max()
        assert torch.allclose(mine, ref, rtol=rtol, atol=rtol * scale), (
            name,
            (mine - ref).abs().max() / scale,
        )


@pytest.mark.parametrize("dtype, rtol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
@pytest.mark.parametrize("shape", range(len(SHAPES)))
def test_same_outputs_and_gradients_as_autograd_through_the_step_loop(shape, dtype, rtol):
    spec = SHAPES[shape]
    net = network(shape, dtype, **spec)
    x = torch.rand(9, 7, spec["n_in"], generator=torch.Generator().manual_seed(shape), dtype=dtype)
    agree(net, x, shape, rtol)


def test_pixel_by_pixel_length_and_depth_five():
    """T = 784 and depth 5: the recurrences over many steps and layers still agree."""
    spec = dict(n_in=1, n_out=10, depth=5, p_rec=16, p_last=24, features="membrane")
    net = network(7, torch.float64, **spec)
    x = torch.rand(4, 784, 1, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    agree(net, x, 7, 1e-12)


def test_float32_at_length_784():
    """float32 at T = 784: no spike flips at threshold on this net and input (the test would
    say so), and the gradients agree to float32 rounding."""
    spec = dict(n_in=1, n_out=10, depth=3, p_rec=32, p_last=32, features="membrane")
    net = network(3, torch.float32, **spec)
    x = torch.rand(8, 784, 1, generator=torch.Generator().manual_seed(3))
    agree(net, x, 3, 1e-5)


def loop_layer(currents: torch.Tensor, output: str) -> tuple[torch.Tensor, torch.Tensor]:
    """One layer as the step loop of torch operations computes it: (spikes, features), each
    (K, T, n, w), differentiable in currents (K, T, n, w)."""
    r, spikes, feats = torch.zeros_like(currents[:, 0]), [], []
    for t in range(currents.shape[1]):
        u = 0.9 * r + currents[:, t]
        spikes.append(atan_spike(u - 1.0))
        r = u - 1.0 * spikes[-1].detach()
        feats.append({"spike": spikes[-1], "membrane": atan_spike(r), "analog": r}[output])
    return torch.stack(spikes, 1), torch.stack(feats, 1)


@pytest.mark.parametrize("output", ["spike", "membrane", "analog"])
@pytest.mark.parametrize("last_only", [False, True])
def test_the_last_layer_gives_the_loops_features_and_reads_either_gradient_layout(
    output, last_only
):
    """The last layer's features, (T', n, K, w) lying sample-major, are the step loop's bit
    for bit, and its gradient read time-major or sample-major (an every-step readout's) gives
    the same numbers: only where each row lies differs (81 samples: two parallel blocks, the
    second partial)."""
    g = torch.Generator().manual_seed(11)
    currents = torch.randn(2, 5, 81, 6, generator=g, dtype=torch.float32, requires_grad=True)
    upstream = torch.randn(1 if last_only else 5, 81, 2, 6, generator=g)  # (T', n, K, w)
    out = last_layer(currents, 0.9, 1.0, output, last_only)
    assert out.transpose(0, 1).is_contiguous()
    feats = loop_layer(currents.detach(), output)[1]
    assert torch.equal(out.detach(), (feats[:, -1:] if last_only else feats).permute(1, 2, 0, 3))
    sample_major = upstream.transpose(0, 1).contiguous().transpose(0, 1)
    (read_time_major,) = torch.autograd.grad(out, currents, upstream, retain_graph=True)
    (read_sample_major,) = torch.autograd.grad(out, currents, sample_major)
    assert torch.equal(read_time_major, read_sample_major)


def test_every_step_readout_rounds_as_nn_linear_on_the_libraries_layout():
    """Ours has an every-step readout's (n, T, p) input contiguous, the libraries' twins a
    transposed one; nn.Linear rounds those two differently (a fused add-and-multiply for the
    first), so ours must compute as nn.Linear does for the second: same logits and same
    readout gradients, bit for bit, whichever layout the features have."""
    spec = dict(n_in=3, n_out=5, depth=3, p_rec=16, p_last=512, features="spike")
    net = network(5, torch.float32, every_step=True, **spec)  # MKL rounds the two apart at 512
    with torch.no_grad():
        net.readout.bias.normal_(generator=torch.Generator().manual_seed(6))
    x = torch.rand(33, 6, 3, generator=torch.Generator().manual_seed(5))
    feats = net._unroll(x, None).detach()
    assert feats.transpose(0, 1).is_contiguous()  # ours: already (n, T, p)
    fused, unfused = (
        net.readout(feats.transpose(0, 1)),
        net.readout(feats.contiguous().transpose(0, 1)),
    )
    assert not torch.equal(fused, unfused), "the two round alike here: the test would prove nothing"
    for layout in (feats, feats.contiguous()):  # ours, and the libraries' (T, n, p)
        net.zero_grad()
        stub = type(net)(net.spec)
        stub.readout = net.readout
        stub._unroll = lambda *_, f=layout: f  # noqa: B023 (bound per iteration)
        ours = stub(x)
        ours.square().sum().backward()
        got = (ours.detach(), net.readout.weight.grad.clone(), net.readout.bias.grad.clone())
        net.zero_grad()
        theirs = net.readout(feats.contiguous().transpose(0, 1))
        theirs.square().sum().backward()
        assert torch.equal(got[0], theirs)
        assert torch.equal(got[1], net.readout.weight.grad)
        assert torch.equal(got[2], net.readout.bias.grad)


def test_a_hidden_layer_gives_its_spikes_and_autograds_gradients_through_the_dense_product():
    """A hidden layer with the next layer's product (`spiking_layer`): its spikes as bytes are
    the step loop's, and the next currents and their gradients in both the currents and the
    next weights are autograd's through that loop and a dense product (float64; 37 samples:
    a partial parallel block)."""
    g = torch.Generator().manual_seed(7)
    currents = torch.randn(2, 5, 37, 6, generator=g, dtype=torch.float64) + 0.5
    weights = torch.randn(2, 4, 6, generator=g, dtype=torch.float64)
    upstream = torch.randn(2, 5, 37, 4, generator=g, dtype=torch.float64)
    inputs = [currents.requires_grad_(), weights.requires_grad_()]
    ours, fired = spiking_layer(currents, weights, 0.9, 1.0)
    spikes = loop_layer(currents, "spike")[0]
    theirs = torch.matmul(spikes.flatten(1, 2), weights.transpose(1, 2)).view_as(ours)
    assert fired.dtype == torch.uint8 and not fired.requires_grad
    assert torch.equal(fired.double(), spikes.detach())
    assert 0 < int(fired.sum()) < fired.numel()
    assert torch.allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    for mine, ref in zip(
        torch.autograd.grad(ours, inputs, upstream),
        torch.autograd.grad(theirs, inputs, upstream),
        strict=True,
    ):
        assert torch.allclose(mine, ref, rtol=1e-12, atol=1e-12 * float(ref.abs().max()))


def test_a_hidden_layer_gives_its_weights_gradient_when_its_currents_need_none():
    """Backward keys each gradient on its own input's flag: with currents that need no
    gradient, the next weights' gradient still comes out, the same bits as when both are
    asked for (keyed on the currents' flag, it would be missing)."""
    g = torch.Generator().manual_seed(8)
    currents = torch.randn(2, 4, 9, 5, generator=g) + 0.5
    weights = torch.randn(2, 3, 5, generator=g, requires_grad=True)
    upstream = torch.randn(2, 4, 9, 3, generator=g)
    alone = torch.autograd.grad(spiking_layer(currents, weights, 0.9, 1.0)[0], weights, upstream)
    both = torch.autograd.grad(
        spiking_layer(currents.requires_grad_(), weights, 0.9, 1.0)[0],
        (currents, weights),
        upstream,
    )
    assert torch.equal(alone[0], both[1])
