"""Feature extraction (no grad) of the canonical LIF network: ours vs snntorch vs spikingjelly.

Same weights, same inputs, one process.  Our simulator has two engines
(`snnbench/models/scan.py`):
* `gemm` (the default): one float32 matrix product per layer over all (step, sample) rows of
  a cache-sized batch, then an in-place elementwise scan over time; bit for bit the
  libraries' arithmetic;
* `events`: layers fed by spikes add, per sample and step, only the weight rows of inputs
  whose spike changed since the previous step, accumulated in float64.
The libraries step through time.  Prints times, ratios, how many features agree with the
libraries', and the gemm engine's GFLOP/s next to the machine's measured peak matrix-multiply
GFLOP/s.

    python benchmarks/lif_forward.py [--shape rows|pixels|all] [--repeats 7]
"""

from __future__ import annotations

import argparse
import time

import torch

from snnbench.baselines.sg_snntorch import SnntorchLIF
from snnbench.models.lif import LIFNetwork, LIFSpec


def best_time(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def matmul_gflops(rows: int, inner: int, cols: int, repeats: int) -> float:
    a, b = torch.randn(rows, inner), torch.randn(inner, cols)
    seconds, _ = best_time(lambda: a @ b, max(10, 3 * repeats))
    return 2 * rows * inner * cols / seconds / 1e9


ENGINES = ("gemm", "events")
SHAPES = {
    # the shape: recon's MNIST-sized network on 4096 row-by-row sequences
    "rows": {"n": 4096, "steps": 28, "inputs": 28, "p_rec": 512, "p_last": 1024},
    # pixel by pixel (smnist-t784): small layers, many steps, so per-step overhead dominates
    "pixels": {"n": 1024, "steps": 784, "inputs": 1, "p_rec": 64, "p_last": 128},
}


def bench(n: int, steps: int, inputs: int, p_rec: int, p_last: int, repeats: int) -> None:
    spec = LIFSpec(
        n_in=inputs, n_out=10, depth=3, p_rec=p_rec, p_last=p_last, branches=2, features="spike"
    )
    net = LIFNetwork(spec)
    net.init_hidden(torch.Generator().manual_seed(0))  # recon's N(0, 1) witnesses
    x = torch.rand(n, steps, inputs, generator=torch.Generator().manual_seed(1))
    rows = n * steps
    flops = 2 * rows * sum(w.numel() for w in net.hidden)  # every layer's matrix product

    print(f"\n### n={n}, T={steps}, inputs={inputs}, K=2, P_rec={p_rec}, P_last={p_last}, depth 3")
    times, feats = {}, {}
    for engine in ENGINES:
        times[engine], feats[engine] = best_time(
            lambda e=engine: net.features(x, engine=e), repeats
        )
    with torch.no_grad():
        twin = SnntorchLIF.from_network(net)
        times["snntorch"], feats["snntorch"] = best_time(lambda: twin._unroll(x, None)[-1], repeats)
        try:
            from snnbench.baselines.sg_spikingjelly import SpikingjellyLIF
        except ImportError as exc:
            print(f"spikingjelly unavailable: {exc}")
        else:
            jelly = SpikingjellyLIF.from_network(net)
            times["spikingjelly"], feats["spikingjelly"] = best_time(
                lambda: jelly._unroll(x, None)[-1], repeats
            )

    libraries = [name for name in times if name not in ENGINES]
    fastest = min(times[name] for name in libraries)
    print(
        f"\n| simulator | seconds (best of {repeats}) | faster than the faster library by | "
        f"last-step spikes equal to {libraries[0]}'s |"
    )
    print("|---|---|---|---|")
    for name, seconds in times.items():
        differ = int((feats[name] != feats[libraries[0]]).sum())
        equal = "all" if differ == 0 else f"all but {differ} of {feats[name].numel()}"
        label = f"snnbench ({name})" if name in ENGINES else name
        print(f"| {label} | {seconds:.3f} | {fastest / seconds:.1f}x | {equal} |")
    peak = matmul_gflops(2048, 2048, 2048, repeats)  # a large square product: the machine's peak
    print(
        f"\ngemm engine: {flops / times['gemm'] / 1e9:.1f} GFLOP/s end to end "
        f"(matrix-product FLOPs / total time); "
        f"this machine's float32 matmul peak (2048^3): {peak:.1f} GFLOP/s, "
        f"so the products alone need at least {flops / peak / 1e9:.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shape", choices=[*SHAPES, "all"], default="all")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for name, shape in SHAPES.items():
        if args.shape in (name, "all"):
            bench(**shape, repeats=args.repeats)


if __name__ == "__main__":
    main()
