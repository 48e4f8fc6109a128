"""recon's readout solvers against cvxpy on the same problems, in one process.

1. L1 squared loss, n = 5000, P = 2000 binary columns (target: ours >= 10x faster than the
   fastest cvxpy solver at equal objective).
2. L1 softmax cross-entropy, n = 6000, P = 1024, C = 10: the recon paper's MNIST size, where a
   conic solve reportedly took about 30 hours per beta_reg (target: ours to relative gap 1e-6
   in under 30 s on 2 CPU cores).
3. An ill-conditioned L1 softmax cross-entropy like recon's add readouts: n = 6000, P = 512,
   C = 3, every column a noisy copy (1 % of bits flipped) of one of 8 binary features, rho =
   1e-3 rho_max.  FISTA stalls here (also shown alone, at the paper preset's 2000 iterations);
   the default continues with the barrier method.

Problems 1-2 are random binary dictionaries (density 0.4) with labels from a planted sparse
readout plus noise, so that the optimum is neither trivial nor separable.  Prints wall times,
ratios, the objective difference and each solution's certified relative gap.

    python benchmarks/solver.py [--problem squared|ce|ill-conditioned|all] [--cvxpy-time-limit 600]
"""

from __future__ import annotations

import argparse
import time

import torch

from snnbench.solvers.l1_problem import L1Problem
from snnbench.solvers.losses import SoftmaxCrossEntropy, Squared
from snnbench.solvers.reference import solve_cvxpy


def planted(n: int, p: int, c: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    d = (torch.rand(n, p, generator=g) < 0.4).to(torch.uint8)
    w = torch.randn(p, c, generator=g, dtype=torch.float64) * (torch.rand(p, c, generator=g) < 0.05)
    scores = d.to(torch.float64) @ w + torch.randn(n, c, generator=g, dtype=torch.float64)
    return d, scores


def near_singular(n: int, p: int, c: int, seed: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Columns: noisy copies of 8 binary features; labels: a noisy function of three of them."""
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(n, 8, generator=g) < 0.5
    d = torch.cat([base[:, [j % 8]] ^ (torch.rand(n, 1, generator=g) < 0.01) for j in range(p)], 1)
    labels = (base[:, :3].long().sum(1) + (torch.rand(n, generator=g) < 0.2).long()) % c
    return d.to(torch.uint8), labels


def status(optimal: bool, diff: float, ratio: float) -> str:
    """A speed ratio only at equal objective (within 1e-6 relative); otherwise say what happened."""
    solved = "reported optimal" if optimal else "not optimal"
    if diff <= 1e-6:
        return f"{solved}; ours is {ratio:.1f}x faster at equal objective"
    return f"{solved}; stopped {diff:.1e} above our objective"


def report(
    name: str,
    problem: L1Problem,
    rho: float,
    tol: float,
    cvxpy_solvers: list[str],
    limit: float,
    fista_alone: int = 0,
) -> None:
    """Ours (the default route), optionally FISTA alone for fista_alone iterations, then cvxpy."""
    print(
        f"\n### {name}: n={problem.d.shape[0]}, P={problem.d.shape[1]}, "
        f"C={problem.n_cols}, rho={rho:.3g}"
    )
    start = time.perf_counter()
    ours = problem.solve(rho, tol=tol, max_iter=100000)
    ours_s = time.perf_counter() - start
    print(
        "\n| solver | seconds | objective | rel. difference to ours | certified rel. gap | status |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| ours ({ours.solver}) | {ours_s:.2f} | {ours.primal:.10f} | 0 | {ours.rel_gap:.1e} | "
        f"{'converged' if ours.converged else 'not converged'} in {ours.iterations} it. |"
    )
    if fista_alone:
        alone = problem.solve(rho, tol=tol, max_iter=fista_alone, smooth="fista")
        diff = (alone.primal - ours.primal) / abs(ours.primal)
        print(
            f"| ours (fista alone) | {alone.seconds:.2f} | {alone.primal:.10f} | {diff:+.1e} "
            f"| {alone.rel_gap:.1e} | "
            f"{'converged' if alone.converged else 'not converged'} in {alone.iterations} it. |"
        )
    for solver in cvxpy_solvers:
        options = (
            {"time_limit": limit}
            if solver == "CLARABEL"
            else {"time_limit_secs": limit}
            if solver == "SCS"
            else {"time_limit": limit}
        )
        try:
            theirs = solve_cvxpy(problem, rho, solvers=(solver,), **options)
        except Exception as exc:  # a reference that fails or times out is reported, not hidden
            print(f"| cvxpy-{solver.lower()} | - | - | - | - | failed: {str(exc)[:60]} |")
            continue
        diff = (theirs.primal - ours.primal) / abs(ours.primal)
        print(
            f"| {theirs.solver} | {theirs.seconds:.2f} | {theirs.primal:.10f} | {diff:+.1e} "
            f"| {theirs.rel_gap:.1e} | "
            f"{status(theirs.converged, diff, theirs.seconds / ours_s)} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--problem", choices=["squared", "ce", "ill-conditioned", "all"], default="all"
    )
    parser.add_argument(
        "--cvxpy-time-limit", type=float, default=600.0, help="seconds per cvxpy solve"
    )
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if args.problem in ("squared", "all"):
        d, scores = planted(5000, 2000, 1)
        problem = L1Problem(d, Squared(scores))
        report(
            "L1 squared loss",
            problem,
            0.05 * problem.rho_max(),
            1e-6,
            ["CLARABEL", "OSQP", "SCS"],
            args.cvxpy_time_limit,
        )
    if args.problem in ("ce", "all"):
        d, scores = planted(6000, 1024, 10, seed=1)
        problem = L1Problem(d, SoftmaxCrossEntropy(scores.argmax(1), 10))
        report(
            "L1 softmax cross-entropy",
            problem,
            0.05 * problem.rho_max(),
            1e-6,
            ["CLARABEL", "SCS"],
            args.cvxpy_time_limit,
        )
    if args.problem in ("ill-conditioned", "all"):
        d, labels = near_singular(6000, 512, 3)
        problem = L1Problem(d, SoftmaxCrossEntropy(labels, 3))
        report(
            "Ill-conditioned L1 softmax cross-entropy",
            problem,
            1e-3 * problem.rho_max(),
            1e-6,
            ["CLARABEL"],
            args.cvxpy_time_limit,
            fista_alone=2000,
        )


if __name__ == "__main__":
    main()
