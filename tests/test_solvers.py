"""recon's convex readouts: our certified solvers against cvxpy on small random problems."""

from __future__ import annotations

import pytest
import torch

from snnbench.solvers.l1_problem import L1Problem
from snnbench.solvers.losses import Hinge, SoftmaxCrossEntropy, Squared
from snnbench.solvers.reference import cvxpy_problem, solve_cvxpy


def cvxpy_optimum(problem: L1Problem, rho: float) -> float:
    prob, _ = cvxpy_problem(problem, rho)
    prob.solve(solver="CLARABEL")
    return float(prob.value)


def random_problem(loss_name: str, seed: int) -> L1Problem:
    g = torch.Generator().manual_seed(seed)
    n, p, c = 200, 60, 3
    d = (torch.rand(n, p, generator=g) < 0.4).to(torch.uint8)  # binary dictionary, stored compactly
    labels = torch.randint(0, c, (n,), generator=g)
    a = torch.rand(n, generator=g, dtype=torch.float64)
    a /= a.sum()  # non-uniform row weights, as on token tasks
    loss = {
        "softmax_ce": lambda: SoftmaxCrossEntropy(labels, c),
        "squared": lambda: Squared(torch.randn(n, 2, generator=g, dtype=torch.float64)),
        "hinge": lambda: Hinge(torch.where(torch.rand(n, 1, generator=g) < 0.5, -1.0, 1.0)),
        "ovr_hinge": lambda: Hinge(2 * torch.nn.functional.one_hot(labels, c).double() - 1),
    }[loss_name]()
    return L1Problem(d, loss, a)


SMOOTH = ["softmax_ce", "squared"]
FRACTIONS = [0.5, 0.1, 0.01]  # rho as a fraction of rho_max


@pytest.mark.parametrize("smooth", ["barrier", "fista"])
@pytest.mark.parametrize("loss_name", SMOOTH)
@pytest.mark.parametrize("seed", [0, 1])
def test_smooth_losses_match_cvxpy_and_certify(loss_name, seed, smooth):
    problem = random_problem(loss_name, seed)
    for fraction in FRACTIONS:
        rho = fraction * problem.rho_max()
        result = problem.solve(rho, tol=1e-7, smooth=smooth)
        reference = cvxpy_optimum(problem, rho)
        assert result.converged and 0 <= result.gap <= 1e-7 * result.primal
        assert abs(result.primal - reference) <= 1e-6 * abs(reference)
        assert result.solver == smooth


def near_singular_problem() -> L1Problem:
    """Like recon's add readouts: few distinct, strongly correlated binary columns,
    each repeated."""
    g = torch.Generator().manual_seed(3)
    n, base = 600, torch.rand(600, 3, generator=g) < 0.5
    columns = [base[:, [j % 3]] ^ (torch.rand(n, 1, generator=g) < 0.01) for j in range(40)]
    d = torch.cat(columns * 3, 1).to(torch.uint8)  # 40 noisy copies of 3 features, each thrice
    labels = (base[:, 0].long() + base[:, 1].long() + (torch.rand(n, generator=g) < 0.2).long()) % 3
    return L1Problem(d, SoftmaxCrossEntropy(labels, 3))


def test_barrier_certifies_where_fista_stalls():
    problem = near_singular_problem()
    rho = 1e-4 * problem.rho_max()
    fista = problem.solve(rho, tol=1e-6, max_iter=2000, smooth="fista")
    barrier = problem.solve(rho, tol=1e-6, smooth="barrier")
    assert not fista.converged
    assert barrier.converged and 0 <= barrier.rel_gap <= 1e-6
    assert barrier.primal < fista.primal
    assert abs(barrier.primal - cvxpy_optimum(problem, rho)) <= 1e-6 * barrier.primal


def test_barrier_warm_start_along_the_path_matches_cold():
    problem = random_problem("softmax_ce", 0)
    warm = None
    for fraction in FRACTIONS:
        rho = fraction * problem.rho_max()
        result = problem.solve(rho, w0=warm, tol=1e-8, smooth="barrier")
        warm = result.w
        assert result.converged
        assert (
            abs(result.primal - problem.solve(rho, tol=1e-8, smooth="barrier").primal)
            <= 1e-7 * result.primal
        )


def test_auto_switches_to_the_barrier_only_where_fista_stalls():
    easy = random_problem("softmax_ce", 0)
    assert easy.solve(0.1 * easy.rho_max(), tol=1e-6).solver == "fista"
    hard = near_singular_problem()
    result = hard.solve(1e-4 * hard.rho_max(), tol=1e-6)
    assert result.solver == "fista (200 it.) + barrier" and result.converged
    with pytest.raises(ValueError, match="smooth must be one of"):
        easy.solve(0.1, smooth="newton")


def test_auto_is_fista_where_the_newton_system_is_too_large():
    """So results of recon version 2 on such readouts (smnist: P * C = 10240) are version 3's."""
    g = torch.Generator().manual_seed(0)
    d = (torch.rand(60, 1400, generator=g) < 0.4).to(torch.uint8)
    wide = L1Problem(d, SoftmaxCrossEntropy(torch.randint(0, 3, (60,), generator=g), 3))
    assert not wide.barrier_fits() and random_problem("softmax_ce", 0).barrier_fits()
    rho = 0.05 * wide.rho_max()
    auto, fista = (
        wide.solve(rho, tol=1e-6, max_iter=300),
        wide.solve(rho, tol=1e-6, max_iter=300, smooth="fista"),
    )
    assert (
        auto.solver == "fista" and auto.iterations > 200
    )  # past the point where auto would switch
    assert torch.equal(auto.w, fista.w)
    # a caller that allows the larger system (recon on the smnist tracks) gets the barrier
    allowed = wide.solve(rho, tol=1e-6, max_iter=300, barrier_max_size=4200)
    assert wide.barrier_fits(4200) and allowed.solver == "fista (200 it.) + barrier"
    assert allowed.converged


HINGE_CASES = [
    (name, seed, f) for name in ("hinge", "ovr_hinge") for seed in (0, 1) for f in FRACTIONS
]


@pytest.mark.parametrize("loss_name,seed,fraction", HINGE_CASES)
def test_our_interior_point_matches_cvxpy_to_1e5(loss_name, seed, fraction):
    problem = random_problem(loss_name, seed)
    rho = fraction * problem.rho_max()
    result = problem.solve(rho, tol=1e-8, lp="interior-point")
    reference = cvxpy_optimum(problem, rho)
    assert result.gap >= 0
    assert abs(result.primal - reference) <= 1e-5 * abs(reference)


@pytest.mark.parametrize("loss_name,seed,fraction", HINGE_CASES)
def test_hinge_by_default_certifies_and_matches_cvxpy(loss_name, seed, fraction):
    problem = random_problem(loss_name, seed)
    rho = fraction * problem.rho_max()
    result = problem.solve(rho, tol=1e-6)
    assert result.converged and 0 <= result.gap <= 1e-9 * result.primal, result.rel_gap
    assert abs(result.primal - cvxpy_optimum(problem, rho)) <= 1e-6 * abs(result.primal)
    assert result.solver == "highs"


@pytest.mark.xfail(
    strict=False,
    reason="known limit of the opt-in `--set solver=ours`: on some sparse hinge "
    "instances our interior point + crossover certifies only 1e-6 to 1e-4 relative gap "
    "(the default, HiGHS, is tested strictly above)",
)
@pytest.mark.parametrize("loss_name,seed,fraction", HINGE_CASES)
def test_our_interior_point_certifies_below_1e6(loss_name, seed, fraction):
    problem = random_problem(loss_name, seed)
    result = problem.solve(fraction * problem.rho_max(), tol=1e-8, lp="interior-point")
    assert result.rel_gap <= 1e-6


@pytest.mark.parametrize("loss_name", SMOOTH + ["hinge"])
def test_a_perturbed_solution_is_caught_by_its_gap(loss_name):
    problem = random_problem(loss_name, 0)
    rho = 0.1 * problem.rho_max()
    result = problem.solve(rho, tol=1e-8)
    primal, dual = problem.certificate(result.w, rho)
    assert primal - dual >= 0
    noise = torch.randn(
        result.w.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    nudged = result.w + 0.05 * noise  # off the support, the L1 kink makes this first-order worse
    primal, dual = problem.certificate(nudged, rho)
    assert (primal - dual) / primal > 1e-4


def test_rho_max_gives_zero_weights():
    problem = random_problem("softmax_ce", 0)
    result = problem.solve(problem.rho_max() * 1.0001, tol=1e-8)
    assert result.w.abs().max() < 1e-10 and result.converged


@pytest.mark.parametrize("loss_name", ["softmax_ce", "hinge"])
def test_cvxpy_reference_path_is_certified_like_ours(loss_name):
    problem = random_problem(loss_name, 1)
    rho = 0.1 * problem.rho_max()
    ours, theirs = problem.solve(rho, tol=1e-8), solve_cvxpy(problem, rho)
    assert theirs.solver == "cvxpy-clarabel" and theirs.gap >= -1e-12
    assert abs(ours.primal - theirs.primal) <= 1e-5 * abs(theirs.primal)
