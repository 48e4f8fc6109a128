"""Metrics on hand-made cases."""

import pytest
import torch

from snnbench.metrics import accuracy, token_metrics


def test_accuracy():
    assert accuracy(torch.tensor([1, 0, 1, 1]), torch.tensor([1, 1, 1, 0])) == 0.5


def test_token_metrics_by_hand():
    # two sequences, three positions; y[..., 0] sum digit, y[..., 1] carry
    y = torch.tensor([[[1, 0], [2, 1], [1, 0]], [[0, 1], [1, 0], [0, 0]]])
    pred_sum = torch.tensor([[1, 2, 1], [0, 2, 0]])  # one sum wrong (seq 1, pos 1)
    pred_carry = torch.tensor(
        [
            [0, 1, 1],  # one carry wrong (seq 0, pos 2)
            [1, 0, 0],
        ]
    )
    m = token_metrics(pred_sum, pred_carry, y)
    assert m["sum_token_accuracy"] == pytest.approx(5 / 6)
    assert m["carry_token_accuracy"] == pytest.approx(5 / 6)
    assert m["token_accuracy"] == pytest.approx(4 / 6)
    assert m["sequence_accuracy"] == 0.0
    m = token_metrics(y[..., 0], y[..., 1], y)
    assert m == {
        "token_accuracy": 1.0,
        "sequence_accuracy": 1.0,
        "sum_token_accuracy": 1.0,
        "carry_token_accuracy": 1.0,
    }
