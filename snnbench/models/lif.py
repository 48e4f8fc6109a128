"""The canonical parallel LIF network (methods.md section 1), in torch.

    u_t = beta * r_{t-1} + W h_t      s_t = 1[u_t - theta >= 0]      r_t = u_t - theta * s_t

K independent branches, each a stack of depth - 1 LIF layers (inner width p_rec / K, last
width p_last / K), read out linearly from the concatenated last-layer features.

Three ways to run it:
* `features` / `run`: fast, no grad.  The LIF has no recurrent weights, so each layer is one
  matrix product over all (step, sample) rows followed by an elementwise scan over time,
  done in place by a numba kernel (`scan.py`); this is what makes feature extraction on
  thousands of sequences cheap.  `engine="events"` instead drives the spike-fed layers by
  the changes of their input spikes (faster where products dominate; float64 currents).
* `forward`: differentiable with the ATan surrogate (for surrogate-gradient training), each
  layer's dynamics over all steps one fused autograd Function (`lif_grad.py`).
* `init_state` / `step`: one time step at a time, for autoregressive evaluation; `advance`
  is the same step with every layer's membranes and spikes (the efficiency probe).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Literal, NamedTuple

import torch
from torch import nn

from snnbench.models.lif_grad import last_layer, spiking_layer
from snnbench.models.scan import Features, lif_events, lif_scan_

BATCH_BYTES = 4 << 20  # default batch of the fast path: the widest layer's currents, in bytes
Engine = Literal["gemm", "events"]  # how the fast path computes the currents of spike-driven layers


@dataclass(frozen=True)
class LIFSpec:
    """Shape and dynamics of the network; stored in result files as the model description."""

    n_in: int
    n_out: int
    depth: int = 3
    p_rec: int = 512
    p_last: int = 1024
    branches: int = 2
    beta: float = 0.99
    theta: float = 1.0
    features: Features = "spike"
    every_step: bool = False

    def __post_init__(self) -> None:
        if self.depth < 2:
            raise ValueError(
                "depth counts weight layers and must be >= 2 (one LIF layer + readout)"
            )
        if self.branches < 1:
            raise ValueError(f"branches must be >= 1, not {self.branches}")
        if self.p_rec % self.branches or self.p_last % self.branches:
            raise ValueError(
                f"p_rec={self.p_rec} and p_last={self.p_last} "
                f"must divide by branches={self.branches}"
            )
        if self.features not in ("spike", "membrane", "analog"):
            raise ValueError(f"features must be spike, membrane or analog, not {self.features!r}")

    @property
    def widths(self) -> list[int]:
        """Per-branch widths of the LIF layers, input side first."""
        k = self.branches
        return [self.p_rec // k] * (self.depth - 2) + [self.p_last // k]

    @property
    def num_neurons(self) -> int:
        return self.branches * sum(self.widths)

    def to_dict(self) -> dict:
        return {"kind": "lif", **asdict(self)}


class RunOutput(NamedTuple):
    logits: torch.Tensor  # (n, C) or (n, T, C)
    spikes: torch.Tensor  # (n,) total spikes of all hidden neurons over all steps


class UnrolledLIF(nn.Module):
    """What every simulator of the canonical network shares: a readout over unrolled features.

    Subclasses (ours here, the snntorch and spikingjelly twins in baselines/) implement
    `_unroll`, which returns the last layer's features (T, n, p_last) and, if asked, appends
    every layer's spikes (T, n, K * width) to `record`.
    """

    spec: LIFSpec
    readout: nn.Linear

    def _unroll(self, x: torch.Tensor, record: list[torch.Tensor] | None) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits with surrogate gradients: (n, C), or (n, T, C) with every_step."""
        feats = self._unroll(x, None)
        return self.readout(feats.transpose(0, 1) if self.spec.every_step else feats[-1])

    def spike_trains(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every LIF layer's spikes as (T, n, K * width), branches concatenated."""
        record: list[torch.Tensor] = []
        with torch.no_grad():
            self._unroll(x, record)
        return record


class LIFNetwork(UnrolledLIF):
    """Hidden weights `hidden[l]` of shape (K, width_l, width_{l-1}); readout `readout`."""

    spiking = True

    def __init__(self, spec: LIFSpec):
        super().__init__()
        self.spec = spec
        fan_in = [spec.n_in, *spec.widths[:-1]]
        self.hidden = nn.ParameterList(
            nn.Parameter(torch.zeros(spec.branches, w, f))
            for w, f in zip(spec.widths, fan_in, strict=False)
        )
        self.readout = nn.Linear(spec.p_last, spec.n_out)
        nn.init.zeros_(self.readout.weight)
        nn.init.zeros_(self.readout.bias)

    # ------------------------------------------------------------------ weights
    def init_hidden(self, generator: torch.Generator, gain: float | None = None) -> None:
        """N(0, 1) weights (recon's witnesses), or N(0, gain^2 / fan_in) when gain is given."""
        with torch.no_grad():
            for w in self.hidden:
                std = 1.0 if gain is None else gain / w.shape[-1] ** 0.5
                w.copy_(torch.randn(w.shape, generator=generator, dtype=w.dtype) * std)

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # ------------------------------------------------------------------ fast path
    def _fast_weights(self, engine: Engine) -> tuple[list[torch.Tensor], bool]:
        """Per layer, weights (K, fan_in, width), built once per call, not per batch; and
        whether the layers fed by spikes run on events (engine `events`, depth above 1).

        `gemm`: every layer is one float32 matrix product over all (step, sample) rows, then
        the in-place scan; bit for bit what torch, snntorch and spikingjelly compute.
        `events`: layers fed by spikes (all but the first) only add the weight rows of inputs
        whose spike changed since the previous step (scan.lif_events, float64 accumulation),
        from contiguous rows; the first layer, fed by real-valued inputs, stays a product.
        """
        if engine not in ("gemm", "events"):
            raise ValueError(f"engine must be gemm or events, not {engine!r}")
        events = engine == "events" and len(self.hidden) > 1
        weights = [w.detach().transpose(1, 2) for w in self.hidden]
        return [w.contiguous() if events and i > 0 else w for i, w in enumerate(weights)], events

    @torch.no_grad()
    def _layers(
        self,
        x: torch.Tensor,
        count: torch.Tensor | None,
        weights: list[torch.Tensor],
        events: bool,
        scan: Callable[..., None] = lif_scan_,
    ) -> torch.Tensor:
        """Last-layer features (K, T, n, w) of x (n, T, n_in); (K, 1, n, w) when only the last
        step is read out and the last layer runs on events.  `scan` (gemm engine) is
        lif_scan_, or a replay that also tallies the activity (snnbench/efficiency.py)."""
        n, steps, _ = x.shape
        # The scans want all samples of a step together; the events kernels all steps of a
        # sample, so with events rows go sample-major.
        layout = (n, steps) if events else (steps, n)
        h = (x if events else x.transpose(0, 1)).reshape(1, steps * n, -1).to(self.hidden[0].dtype)
        for i, w in enumerate(weights):
            last = i == len(weights) - 1
            output = self.spec.features if last else "spike"
            if events and i > 0:  # the first layer's scan runs fused into the second's kernel
                h = lif_events(
                    h,
                    w,
                    self.spec.beta,
                    self.spec.theta,
                    output,
                    count,
                    last_only=last and not self.spec.every_step,
                    integrate=i == 1,
                )
                continue
            rows = h.reshape(
                -1, steps * n, h.shape[-1]
            )  # all (step, sample) rows: one product per layer
            # One input (pixel by pixel): each current is a single rounded product, which a
            # broadcast multiply computes, bit for bit, 4x faster than a matrix product.
            h = (rows * w if rows.shape[-1] == 1 else torch.matmul(rows, w)).view(
                w.shape[0], *layout, -1
            )
            if not events:
                scan(h, self.spec.beta, self.spec.theta, output, count)
        return h.transpose(1, 2) if events else h

    def _flatten(self, feats: torch.Tensor) -> torch.Tensor:
        """(K, T, n, w) -> (n, T, K*w) or, last step only, (n, K*w); branches concatenated."""
        k, steps, n, w = feats.shape
        if not self.spec.every_step:
            return feats[:, -1].permute(1, 0, 2).reshape(n, k * w)
        return feats.permute(2, 1, 0, 3).reshape(n, steps, k * w)

    def _batches(
        self, x: torch.Tensor, batch_size: int | None, events: bool
    ) -> Iterator[tuple[slice, torch.Tensor]]:
        """(rows, x[rows]) batches so that, by default, the widest tensor a batch materialises
        holds about BATCH_BYTES: every layer's currents with `gemm`; with `events` the first
        layers' (the last layer's outputs exist at t = T only, unless every_step).

        The layers stream their currents through memory twice (product, then scan), so a
        batch that stays in cache is worth more than a large product: on smnist-t784's shape
        4 MB batches are 4x faster than 256 samples (benchmarks/lif_forward.py).  Results do
        not depend on the batch size (tested).  Callers write each batch into a preallocated
        output: small per-batch results kept between the large per-batch buffers fragment
        the heap (a single-threaded run on smnist-mini-t784 grew by one batch's currents,
        3 MB, per batch, to 11 GB).
        """
        if batch_size is None:
            steps, spec = x.shape[1], self.spec
            last_steps = 1 if events and not spec.every_step else steps
            per_sample = (
                max(steps * spec.p_rec, last_steps * spec.p_last) * self.hidden[0].element_size()
            )
            batch_size = max(1, BATCH_BYTES // per_sample)
        for start in range(0, x.shape[0], batch_size):
            rows = slice(start, min(start + batch_size, x.shape[0]))
            yield rows, x[rows]

    @torch.no_grad()
    def features(
        self, x: torch.Tensor, batch_size: int | None = None, engine: Engine = "gemm"
    ) -> torch.Tensor:
        """Read-out features: (n, p_last) at t = T, or (n, T, p_last) with every_step.

        engine: `gemm` (bit for bit the libraries' arithmetic; every committed result) or
        `events` (float64 currents driven by spike changes; see `_fast_weights`).
        """
        n, steps = x.shape[:2]
        shape = (n, steps, self.spec.p_last) if self.spec.every_step else (n, self.spec.p_last)
        out = torch.empty(shape, dtype=self.hidden[0].dtype)
        weights, events = self._fast_weights(engine)
        for rows, xb in self._batches(x, batch_size, events):
            out[rows] = self._flatten(self._layers(xb, None, weights, events))
        return out

    @torch.no_grad()
    def run(
        self, x: torch.Tensor, batch_size: int | None = None, engine: Engine = "gemm"
    ) -> RunOutput:
        """Logits and per-sample spike counts, fast and without grad (engine as in `features`)."""
        n, steps = x.shape[:2]
        shape = (n, steps, self.spec.n_out) if self.spec.every_step else (n, self.spec.n_out)
        logits = torch.empty(shape, dtype=self.readout.weight.dtype)
        spikes = torch.zeros(n, dtype=torch.int64)
        weights, events = self._fast_weights(engine)
        for rows, xb in self._batches(x, batch_size, events):
            logits[rows] = self.readout(
                self._flatten(self._layers(xb, spikes[rows], weights, events))
            )
        return RunOutput(logits, spikes)

    # ------------------------------------------------------------------ differentiable path
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """As `UnrolledLIF.forward`, but an every-step readout reads the features where they
        lie, (n, T, p_last) already (`_unroll`), instead of nn.Linear copying them there.  The
        readout module is then not called: forward hooks on it do not fire in that mode (the
        efficiency metrics come from the spike trains, and NeuroBench runs on the twins)."""
        if not self.spec.every_step:
            return super().forward(x)
        feats = self._unroll(x, None).transpose(0, 1)
        # What nn.Linear computes for the libraries' twins, whose features are not contiguous:
        # a product (matmul folds them into one matrix while the weight requires grad, as in
        # training), then the bias; for ours, contiguous, it would fuse the two, which rounds
        # differently (tests/test_lif_grad.py pins the bits).
        return torch.matmul(feats, self.readout.weight.t()).add_(self.readout.bias)

    def _unroll(self, x: torch.Tensor, record: list[torch.Tensor] | None) -> torch.Tensor:
        """With the surrogate; returns (T, n, p_last) last-layer features, (1, n, p_last) for
        a last-step readout (the other steps are never materialised).

        Each layer's input currents for all steps come from one product over all (step,
        sample) rows: autograd's dense product for the first layer, fed by real-valued inputs;
        for layers fed by spikes, sums over the spikes' events (spike_product.py), whose
        rounding differs from a BLAS product's.  The LIF dynamics over all steps are one fused
        autograd Function (lif_grad.py): given the same currents, its outputs are bit for bit
        those of a step loop of torch operations.
        """
        spec = self.spec
        n, steps, _ = x.shape
        h = x.transpose(0, 1).reshape(1, steps * n, -1).to(self.hidden[0].dtype)  # (1, T*n, n_in)
        first = self.hidden[0]
        currents = torch.matmul(h, first.transpose(1, 2)).view(first.shape[0], steps, n, -1)
        for w in self.hidden[1:]:
            currents, fired = spiking_layer(currents, w, spec.beta, spec.theta)
            if record is not None:
                record.append(fired.permute(1, 2, 0, 3).reshape(steps, n, -1).to(first.dtype))
        # The readout's features, every step or (no record asked) the last only, as (T', n, K, w)
        # lying sample-major: the readout's (n, T', p_last) input is a view of them, no copy.
        last_only = not spec.every_step and record is None
        h = last_layer(currents, spec.beta, spec.theta, spec.features, last_only=last_only)
        if record is not None:  # the last layer's spikes too
            spikes = (
                h
                if spec.features == "spike"
                else last_layer(currents, spec.beta, spec.theta, "spike", last_only=False)
            )
            record.append(spikes.reshape(steps, n, -1))
        return h.reshape(h.shape[0], n, -1)

    # ------------------------------------------------------------------ step API
    def init_state(self, n: int) -> list[torch.Tensor]:
        """Zero post-reset membranes r, one (K, n, width) tensor per LIF layer."""
        return [torch.zeros(w.shape[0], n, w.shape[1], dtype=w.dtype) for w in self.hidden]

    @torch.no_grad()
    def step(
        self, state: list[torch.Tensor], x_t: torch.Tensor
    ) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
        """One time step for all samples: (new state, logits (n, C), spikes (n,))."""
        new_state, _, spikes, feats = self.advance(state, x_t)
        count = sum(s.sum(dim=(0, 2)) for s in spikes)
        return new_state, self.readout(feats), count

    @torch.no_grad()
    def advance(
        self, state: list[torch.Tensor], x_t: torch.Tensor
    ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor], torch.Tensor]:
        """One time step, every layer's view: (post-reset membranes r, pre-reset membranes u,
        spikes s (bool), each (K, n, width) per layer; read-out features (n, K * width)).
        `step` and the harness's efficiency probe (snnbench/efficiency.py) both go through
        it, so the probe sees exactly the activity that was scored."""
        spec = self.spec
        h = x_t.to(self.hidden[0].dtype).unsqueeze(0)  # (1, n, n_in)
        new_state, currents, spikes = [], [], []
        for i, (w, r) in enumerate(zip(self.hidden, state, strict=False)):
            u = spec.beta * r + torch.matmul(h, w.transpose(1, 2))
            s = u >= spec.theta
            r = u - spec.theta * s
            new_state.append(r)
            currents.append(u)
            spikes.append(s)
            h = s.to(u.dtype)
            if i == len(self.hidden) - 1 and spec.features != "spike":
                h = (r >= 0).to(u.dtype) if spec.features == "membrane" else r
        feats = h.permute(1, 0, 2).reshape(x_t.shape[0], -1)
        return new_state, currents, spikes, feats
