"""The tie rule of the leaderboard's ranks, on hand-made cases (ranks.py)."""

from __future__ import annotations

from snnbench.leaderboard.ranks import SeedStats, better, shared_ranks


def s(mean: float, std: float, n: int = 3) -> SeedStats:
    return SeedStats(mean, std, n)


def test_perfect_scores_all_share_first():
    assert shared_ranks([s(1.0, 0.0)] * 6) == [1] * 6


def test_equal_means_with_different_spreads_tie():
    assert shared_ranks([s(0.485, 0.022), s(0.485, 0.005)]) == [1, 1]


def test_a_clear_gap_orders_and_a_noisy_one_does_not():
    assert shared_ranks([s(0.9, 0.01), s(0.5, 0.01)]) == [1, 2]
    assert shared_ranks([s(0.9, 0.3), s(0.7, 0.3)]) == [1, 1]


def test_rank_counts_the_methods_better_beyond_chance():
    # b cannot be told from a (t = 1.22, 4 df, p = 0.14); c is below both
    assert shared_ranks([s(0.90, 0.01), s(0.89, 0.01), s(0.50, 0.01)]) == [1, 1, 3]
    # a chain: a beats c, b ties both
    assert shared_ranks([s(0.90, 0.02), s(0.87, 0.03), s(0.84, 0.02)]) == [1, 1, 2]


def test_degenerate_cases_fall_back_on_the_means():
    assert better(s(1.0, 0.0), s(0.99, 0.0)) and not better(s(0.99, 0.0), s(1.0, 0.0))
    assert better(s(0.8, 0.0, 1), s(0.7, 0.2)) and not better(s(0.7, 0.2), s(0.8, 0.0, 1))
    assert not better(s(0.5, 0.1), s(0.5, 0.1))
