"""Metrics on predictions and targets; pure functions, checked on hand-made cases in tests."""

from __future__ import annotations

import torch


def accuracy(pred: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of sequences whose predicted label is right."""
    return (pred == y).double().mean().item()


def token_metrics(
    pred_sum: torch.Tensor, pred_carry: torch.Tensor, y: torch.Tensor
) -> dict[str, float]:
    """Addition metrics; pred_* are (n, T), y is (n, T, 2) [sum digit, carry out].

    token_accuracy: positions where the sum digit and the carry are both right;
    sequence_accuracy: sequences with every position right; plus each head alone.
    """
    sum_ok = pred_sum == y[..., 0]
    carry_ok = pred_carry == y[..., 1]
    both = sum_ok & carry_ok
    return {
        "token_accuracy": both.double().mean().item(),
        "sequence_accuracy": both.all(dim=1).double().mean().item(),
        "sum_token_accuracy": sum_ok.double().mean().item(),
        "carry_token_accuracy": carry_ok.double().mean().item(),
    }
