"""One surrogate-gradient training step (forward, backward, Adam): ours vs snntorch vs
spikingjelly, on the same weights and the same batch, in one process.

Ours is `LIFNetwork.forward` (the fused differentiable layer, snnbench/models/lif_grad.py, and
the event-driven products of spikes, snnbench/models/spike_product.py, whose speed follows the
spike density printed per shape); the libraries are the twins the `sg-snntorch` and
`sg-spikingjelly` baselines train.  Prints per shape: the best time of `--repeats` steps, the
ratio to the faster library, the dense-equivalent GFLOP/s (the dense products of forward and
backward over the step's time) beside this machine's measured float32 matrix-product peak, the
dense-product floor (those FLOPs at that peak; event-driven products can beat it), and each
simulator's peak memory for one step (measured in a fresh subprocess each: the process's
peak RSS during the step, reset just before it, above its RSS before it).

    python benchmarks/sg_train.py [--shape xor|add|rows|pixels|all] [--repeats 7] [--batch 256]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

from snnbench.allocator import keep_freed_memory
from snnbench.baselines.sg_snntorch import SnntorchLIF
from snnbench.baselines.sg_spikingjelly import SpikingjellyLIF
from snnbench.models.lif import LIFNetwork, LIFSpec

SHAPES = {
    "xor": {
        "n_in": 2,
        "n_out": 2,
        "depth": 5,
        "p_rec": 500,
        "p_last": 1000,
        "steps": 8,
        "features": "membrane",
        "every_step": False,
        "title": "first-last-xor-t8 paper net",
    },
    "add": {
        "n_in": 3,
        "n_out": 5,
        "depth": 3,
        "p_rec": 256,
        "p_last": 512,
        "steps": 6,
        "features": "spike",
        "every_step": True,
        "title": "add-b3 paper net (every step)",
    },
    "rows": {
        "n_in": 28,
        "n_out": 10,
        "depth": 3,
        "p_rec": 512,
        "p_last": 1024,
        "steps": 28,
        "features": "membrane",
        "every_step": False,
        "title": "smnist-t28 paper net",
    },
    "pixels": {
        "n_in": 1,
        "n_out": 10,
        "depth": 3,
        "p_rec": 64,
        "p_last": 128,
        "steps": 784,
        "features": "membrane",
        "every_step": False,
        "title": "pixel by pixel (T 784)",
    },
}
SIMULATORS = ("snnbench", "snntorch", "spikingjelly")


def make(shape: dict, simulator: str, batch: int):
    """(module, x, y) on fixed weights and data: the same for every simulator."""
    spec = LIFSpec(**{k: v for k, v in shape.items() if k not in ("steps", "title")})
    net = LIFNetwork(spec)
    g = torch.Generator().manual_seed(0)
    net.init_hidden(g, gain=1.0)  # sg's initialisation
    torch.nn.init.normal_(net.readout.weight, std=1 / spec.p_last**0.5, generator=g)
    module = {
        "snnbench": lambda: net,
        "snntorch": lambda: SnntorchLIF.from_network(net),
        "spikingjelly": lambda: SpikingjellyLIF.from_network(net),
    }[simulator]()
    x = torch.rand(batch, shape["steps"], shape["n_in"], generator=g)
    y_shape = (batch, shape["steps"]) if shape["every_step"] else (batch,)
    y = torch.randint(shape["n_out"], y_shape, generator=g)
    return module, x, y


def train_step(module, optimizer, x, y) -> None:
    optimizer.zero_grad()
    logits = module(x)
    torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), y.reshape(-1)
    ).backward()
    optimizer.step()


def step_seconds(shape: dict, simulator: str, batch: int, repeats: int) -> float:
    module, x, y = make(shape, simulator, batch)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    for _ in range(2):  # warm-up: compiles, allocates, settles the thread pools
        train_step(module, optimizer, x, y)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        train_step(module, optimizer, x, y)
        best = min(best, time.perf_counter() - start)
    return best


def dense_flops(shape: dict, batch: int) -> float:
    """Forward and backward matrix-product FLOPs: every layer's product once forward, twice
    backward (input and weight gradients), the first layer's input gradient excepted."""
    k, steps = 2, shape["steps"]
    widths = [shape["p_rec"] // k] * (shape["depth"] - 2) + [shape["p_last"] // k]
    fan_in = [shape["n_in"], *widths[:-1]]
    rows = batch * steps
    layers = [2 * rows * k * f * w for f, w in zip(fan_in, widths, strict=True)]
    readout_rows = rows if shape["every_step"] else batch
    readout = 2 * readout_rows * shape["p_last"] * shape["n_out"]
    return 3 * (sum(layers) + readout) - layers[0]


def peak_memory_mb(shape_name: str, simulator: str, batch: int) -> float:
    """Peak RSS growth of one training step, in a fresh process: the kernel's high-water mark
    (VmHWM) is reset just before the step (clear_refs 5), so imports and compilation of the
    warm-up step do not count."""
    code = (
        "import json, sys, torch\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
        "import sg_train as b\n"
        "b.keep_freed_memory()\n"
        f"shape = b.SHAPES[{shape_name!r}]\n"
        f"module, x, y = b.make(shape, {simulator!r}, {batch})\n"
        "opt = torch.optim.Adam(module.parameters(), lr=1e-3)\n"
        "b.train_step(module, opt, x[:2], y[:2])\n"
        "def status(key):\n"
        "    line = next(l for l in open('/proc/self/status') if l.startswith(key))\n"
        "    return int(line.split()[1]) / 1024\n"
        "before = status('VmRSS')\n"
        "open('/proc/self/clear_refs', 'w').write('5')\n"
        "b.train_step(module, opt, x, y)\n"
        "print(json.dumps(status('VmHWM') - before))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def matmul_peak(repeats: int = 10) -> float:
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * 2048**3 / best / 1e9


def bench(name: str, batch: int, repeats: int, memory: bool = True) -> None:
    shape = SHAPES[name]
    times = {s: step_seconds(shape, s, batch, repeats) for s in SIMULATORS}
    peak = matmul_peak()
    flops = dense_flops(shape, batch)
    floor = flops / peak / 1e9
    faster = min(times["snntorch"], times["spikingjelly"])
    print(
        f"\n### {shape['title']}: batch {batch}, T {shape['steps']}, L {shape['depth']}, "
        f"P {shape['p_rec']}/{shape['p_last']}"
    )
    net, x, _ = make(shape, "snnbench", batch)
    densities = ", ".join(f"{float(s.mean()):.3f}" for s in net.spike_trains(x)[:-1])
    print(f"spike density of the layers that feed a product (ours sums their events): {densities}")
    print(
        f"dense products {flops / 1e9:.2f} GFLOP per step; float32 matmul peak (2048^3) "
        f"{peak:.0f} GFLOP/s, so a floor of {1e3 * floor:.1f} ms "
        f"({floor / faster:.2f} of the faster library's time)"
    )
    print(
        f"\n| simulator | ms per step (best of {repeats}) | vs the faster library | GFLOP/s | "
        "vs the dense floor | peak MB (one step) |"
    )
    print("|---|---|---|---|---|---|")
    for s in SIMULATORS:
        mem = f"{peak_memory_mb(name, s, batch):.0f}" if memory else "-"
        print(
            f"| {s} | {1e3 * times[s]:.1f} | {faster / times[s]:.2f}x "
            f"| {flops / times[s] / 1e9:.0f} | {times[s] / floor:.2f}x | {mem} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=[*SHAPES, "all"], default="all")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    print(f"allocator keeps freed memory (as the harness's training): {keep_freed_memory()}")
    for name in SHAPES if args.shape == "all" else [args.shape]:
        bench(name, args.batch, args.repeats)


if __name__ == "__main__":
    main()
