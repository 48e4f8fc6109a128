"""The event-driven product of spikes and weights: each output element is the sum, in
ascending order, of the rows the spikes select (bit for bit, whatever the thread count), and
its gradients are torch autograd's through the dense product."""

from __future__ import annotations

import pytest
import torch

from snnbench.models.spike_product import COLUMNS_PER_JOB, ROWS_PER_PASS, spike_product


def in_order(spikes: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """sum over m of table[:, m] where spikes[:, :, m] fired, added one m at a time, m
    ascending, starting from zero: the order the product promises."""
    acc = torch.zeros(*spikes.shape[:2], table.shape[-1], dtype=table.dtype)
    for m in range(spikes.shape[2]):
        fired = spikes[:, :, m : m + 1] != 0
        acc = torch.where(fired, acc + table[:, m : m + 1], acc)
    return acc


def case(seed: int, k: int, rows: int, fan_in: int, width: int, density: float, dtype):
    g = torch.Generator().manual_seed(seed)
    spikes = (torch.rand(k, rows, fan_in, generator=g) < density).to(dtype)
    spikes[:, 0] = 0  # a row with no spike
    spikes[:, 1] = 1  # a row where every input fired
    weights = torch.randn(k, width, fan_in, generator=g, dtype=dtype)
    grad = torch.randn(k, rows, width, generator=g, dtype=dtype)
    return spikes.requires_grad_(), weights.requires_grad_(), grad


# Counts of fired inputs per row that are not multiples of eight, widths that are not multiples
# of a vector, more rows than one pass of the weight gradient and more inputs than one job.
CASES = [
    (0, 1, 37, 13, 5, 0.3),
    (1, 2, 2 * ROWS_PER_PASS + 11, 2 * COLUMNS_PER_JOB + 3, 33, 0.2),
    (2, 2, 90, 40, 70, 0.05),
]


@pytest.mark.parametrize("seed, k, rows, fan_in, width, density", CASES)
def test_sums_in_ascending_order_bit_for_bit(seed, k, rows, fan_in, width, density):
    spikes, weights, grad = case(seed, k, rows, fan_in, width, density, torch.float32)
    currents = spike_product(spikes, weights)
    assert torch.equal(currents, in_order(spikes.detach(), weights.detach().transpose(1, 2)))
    (grad_w,) = torch.autograd.grad(currents, weights, grad)
    # dL/dW[o, j] = sum over the rows r where input j fired of grad[r, o], r ascending
    expected = in_order(spikes.detach().transpose(1, 2), grad).transpose(1, 2)
    assert torch.equal(grad_w, expected)


@pytest.mark.parametrize("seed, k, rows, fan_in, width, density", CASES)
def test_gradients_equal_autograd_through_the_dense_product(seed, k, rows, fan_in, width, density):
    spikes, weights, grad = case(seed, k, rows, fan_in, width, density, torch.float64)
    ours = torch.autograd.grad(spike_product(spikes, weights), (spikes, weights), grad)
    theirs = torch.autograd.grad(
        torch.matmul(spikes, weights.transpose(1, 2)), (spikes, weights), grad
    )
    for mine, ref in zip(ours, theirs, strict=True):
        assert torch.allclose(mine, ref, rtol=1e-12, atol=1e-12 * float(ref.abs().max()))


def test_the_same_bits_on_one_thread_and_on_two():
    spikes, weights, grad = case(3, 2, 700, 150, 40, 0.15, torch.float32)
    before = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)  # the kernels run on torch's thread count
            currents = spike_product(spikes, weights)
            results.append((currents, *torch.autograd.grad(currents, (spikes, weights), grad)))
    finally:
        torch.set_num_threads(before)
    for one, two in zip(*results, strict=True):
        assert torch.equal(one, two)


def test_spikes_that_need_no_gradient_still_give_the_weight_gradient():
    spikes, weights, grad = case(4, 1, 20, 6, 3, 0.5, torch.float32)
    currents = spike_product(spikes.detach(), weights)
    (grad_w,) = torch.autograd.grad(currents, weights, grad)
    assert grad_w.shape == weights.shape
