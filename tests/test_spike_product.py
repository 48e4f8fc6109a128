"""The event-driven products of spikes and weights: each output element is the sum, in
ascending order, of the rows the spikes select (bit for bit, whatever the thread count); the
gradients of the hidden layer that owns them: tests/test_lif_grad.py."""

from __future__ import annotations

import pytest
import torch

from snnbench.models.spike_product import (
    COLUMNS_PER_JOB,
    ROWS_PER_PASS,
    event_currents,
    event_weight_grad,
)


def in_order(spikes: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """sum over m of table[:, m] where spikes[:, :, m] fired, added one m at a time, m
    ascending, starting from zero: the order the product promises."""
    acc = torch.zeros(*spikes.shape[:2], table.shape[-1], dtype=table.dtype)
    for m in range(spikes.shape[2]):
        fired = spikes[:, :, m : m + 1] != 0
        acc = torch.where(fired, acc + table[:, m : m + 1], acc)
    return acc


def case(seed: int, k: int, rows: int, fan_in: int, width: int, density: float):
    g = torch.Generator().manual_seed(seed)
    fired = (torch.rand(k, rows, fan_in, generator=g) < density).to(torch.uint8)
    fired[:, 0] = 0  # a row with no spike
    fired[:, 1] = 1  # a row where every input fired
    weights = torch.randn(k, width, fan_in, generator=g)
    grad = torch.randn(k, rows, width, generator=g)
    return fired, weights, grad


# Counts of fired inputs per row that are not multiples of eight, widths that are not multiples
# of a vector, more rows than one pass of the weight gradient and more inputs than one job.
CASES = [
    (0, 1, 37, 13, 5, 0.3),
    (1, 2, 2 * ROWS_PER_PASS + 11, 2 * COLUMNS_PER_JOB + 3, 33, 0.2),
    (2, 2, 90, 40, 70, 0.05),
]


@pytest.mark.parametrize("seed, k, rows, fan_in, width, density", CASES)
def test_sums_in_ascending_order_bit_for_bit(seed, k, rows, fan_in, width, density):
    fired, weights, grad = case(seed, k, rows, fan_in, width, density)
    currents = event_currents(fired, weights)
    assert torch.equal(currents, in_order(fired, weights.transpose(1, 2)))
    # dL/dW[o, j] = sum over the rows r where input j fired of grad[r, o], r ascending
    expected = in_order(fired.transpose(1, 2), grad).transpose(1, 2)
    assert torch.equal(event_weight_grad(fired, grad), expected)


def test_the_same_bits_on_one_thread_and_on_two():
    fired, weights, grad = case(3, 2, 700, 150, 40, 0.15)
    before = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)  # the kernels run on torch's thread count
            results.append((event_currents(fired, weights), event_weight_grad(fired, grad)))
    finally:
        torch.set_num_threads(before)
    for one, two in zip(*results, strict=True):
        assert torch.equal(one, two)
